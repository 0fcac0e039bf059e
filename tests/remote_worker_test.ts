import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { HttpQueueError, HttpWorker, silentLogger, TaskQueue, TaskStatus } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { serve } from "../src/http/serve.ts";
import { FakeClock, fixture, runScript, settle, tempDir } from "./_helpers.ts";

const TOKEN = "remote-worker-token";

/** Waits (in real time, 5 s at most) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("remote workers over HTTP", () => {
  test("two HttpWorker processes against a real server: every task runs exactly once", async () => {
    const tmp = tempDir();
    const queue = await TaskQueue.open(tmp.file("served.db"));
    const app = new Hono().route(
      "/queue",
      createQueueApp(queue, { auth: { writeTokens: [TOKEN] } }),
    );
    const server = await serve(app.fetch, { port: 0, hostname: "127.0.0.1" });
    try {
      const TOTAL = 300;
      await queue.enqueueMany(
        Array.from(
          { length: TOTAL },
          (_, n) => ({ name: `job ${n}`, taskType: "job", payload: { n } }),
        ),
      );
      const url = `http://127.0.0.1:${server.port}/queue`;
      const outs = [1, 2].map((i) => tmp.file(`remote-${i}.json`));
      const results = await Promise.all(
        outs.map((out, i) =>
          runScript(fixture("http_worker.ts"), [url, TOKEN, out, `remote-${i + 1}`])
        ),
      );
      for (const result of results) assert.equal(result.code, 0, result.stderr);
      const perProcess = outs.map((out) => JSON.parse(readFileSync(out, "utf8")) as number[]);
      const all = perProcess.flat();
      assert.equal(all.length, TOTAL, "handler runs in total");
      assert.equal(new Set(all).size, TOTAL, "no task ran twice");
      for (const ran of perProcess) assert.ok(ran.length > 0, "both processes did work");
      console.log(`runs per remote worker: ${perProcess.map((ran) => ran.length).join(", ")}`);
      const completed = await queue.getTasksByStatus(TaskStatus.COMPLETED, 1000);
      assert.equal(completed.length, TOTAL);
      assert.ok(completed.every((task) => task.result === (task.payload as { n: number }).n * 2));
      assert.deepEqual(
        new Set(completed.map((t) => t.workerId)),
        new Set(["remote-1", "remote-2"]),
      );
    } finally {
      await server.close();
      await queue.close();
      tmp.cleanup();
    }
  });

  test("an HttpWorker in process: failures, retries and timeouts travel over HTTP", async () => {
    const queue = await TaskQueue.open(":memory:", { backoff: { baseMs: 0, jitter: 0 } });
    const app = new Hono().route(
      "/queue",
      createQueueApp(queue, { auth: { writeTokens: [TOKEN] } }),
    );
    const server = await serve(app.fetch, { port: 0 });
    try {
      const [flaky, slow, fatal] = await queue.enqueueMany([
        { name: "flaky", taskType: "flaky", maxRetries: 2 },
        { name: "slow", taskType: "slow", maxRetries: 0, timeoutMs: 20 },
        { name: "fatal", taskType: "nope", maxRetries: 3 },
      ]);
      let calls = 0;
      const worker = new HttpWorker({
        url: `http://127.0.0.1:${server.port}/queue`,
        token: TOKEN,
        waitMs: 0,
        logger: silentLogger,
        taskTypes: "*",
        handlers: {
          flaky: () => {
            if (++calls < 3) throw new Error(`try ${calls}`);
            return "third time";
          },
          slow: () => new Promise(() => {}),
        },
      });
      while ((await worker.tick()) > 0) {
        // retries are due at once (no backoff): tick until nothing is left
      }
      assert.equal((await queue.getTask(flaky!))!.result, "third time");
      assert.deepEqual((await queue.getTask(flaky!))!.errors.map((e) => e.error), [
        "try 1",
        "try 2",
      ]);
      assert.equal((await queue.getTask(slow!))!.error, "Task timed out after 20 ms");
      assert.equal((await queue.getTask(fatal!))!.status, TaskStatus.FAILED);
      assert.match((await queue.getTask(fatal!))!.error!, /No handler registered/);

      const unauthorized = new HttpWorker({
        url: `http://127.0.0.1:${server.port}/queue`,
        token: "wrong-token-000",
        waitMs: 0,
        logger: silentLogger,
        handlers: { job: () => 1 },
        onError: (error) => errors.push(String(error)),
      });
      const errors: string[] = [];
      await assert.rejects(
        unauthorized.tick(),
        (error: unknown) => error instanceof HttpQueueError && error.status === 401,
      );
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /HTTP 401 unauthorized/);
    } finally {
      await server.close();
      await queue.close();
    }
  });

  test("stop() ends an idle long poll at once, and nothing claimed after stop() runs", async () => {
    const clock = new FakeClock(); // the server's: its long poll waits only on this clock
    const queue = await TaskQueue.open(":memory:", { clock: clock.clock });
    const app = new Hono().route("/queue", createQueueApp(queue));
    const server = await serve(app.fetch, { port: 0 });
    try {
      const ran: string[] = [];
      const worker = new HttpWorker({
        url: `http://127.0.0.1:${server.port}/queue`,
        waitMs: 20_000,
        handlers: { job: (_payload, ctx) => void ran.push(ctx.task.name) },
      });
      worker.start();
      await clock.sleeping(); // the server is in the worker's 20 s long poll
      const started = Date.now();
      await worker.stop({ timeoutMs: 500 });
      assert.ok(Date.now() - started < 3_000, `stop() took ${Date.now() - started} ms`);
      await until(() => clock.pending === 0); // the server saw the client go
      await queue.enqueue({ name: "after stop", taskType: "job" });
      await settle();
      assert.deepEqual(ran, [], "no task started after stop()");
      const [task] = await queue.getTasksByStatus(TaskStatus.PENDING);
      assert.equal(task?.name, "after stop", "the server did not claim it for the gone client");
    } finally {
      await server.close();
      await queue.close();
    }
  });

  test("an idle HttpWorker's long poll is answered as soon as a task is enqueued", async () => {
    const clock = new FakeClock(); // never moves: only the enqueue can answer the long poll
    const queue = await TaskQueue.open(":memory:", { clock: clock.clock });
    const app = new Hono().route("/queue", createQueueApp(queue));
    const server = await serve(app.fetch, { port: 0 });
    try {
      const started = Promise.withResolvers<string>();
      const worker = new HttpWorker({
        url: `http://127.0.0.1:${server.port}/queue`,
        waitMs: 20_000,
        handlers: { job: (_payload, ctx) => started.resolve(ctx.task.name) },
      });
      worker.start();
      await clock.sleeping();
      await queue.enqueue({ name: "now", taskType: "job" });
      assert.equal(await started.promise, "now");
      await worker.stop({ timeoutMs: 500 });
    } finally {
      await server.close();
      await queue.close();
    }
  });
});
