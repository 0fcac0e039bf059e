/**
 * A remote worker fails loudly: a refused token (401, 403) stops it with the error, logged even
 * by its default logger; a server that goes away is waited out with capped exponential backoff on
 * the worker's clock, reported once, and the worker carries on when it is back. Also: `tasklite
 * serve` logs failed attempts at warn and dead letters at error, and the HTTP client's errors
 * carry one prefix.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import {
  HttpQueueClient,
  HttpQueueError,
  HttpWorker,
  LeaseLostError,
  type Logger,
  silentLogger,
  TaskNotFoundError,
  TaskQueue,
} from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { serve } from "../src/http/serve.ts";
import { FakeClock, scriptCommand, settle, tempDir } from "./_helpers.ts";

const WRITE = "faults-write-token";
const READ = "faults-read-token";

/** Waits (in real time, 10 s at most) until `condition` holds. */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type Line = { level: string; message: string; fields: Record<string, unknown> };

/** A logger that keeps its lines (but "Worker started" and "Worker stopped"). */
function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    if (message !== "Worker started" && message !== "Worker stopped") {
      lines.push({ level, message, fields });
    }
  };
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

/** A queue behind the sub-app, called in process (`app.request`), counting the calls. */
async function inProcessServer() {
  const queue = await TaskQueue.open(":memory:");
  const app = new Hono().route(
    "/queue",
    createQueueApp(queue, { auth: { writeTokens: [WRITE], readTokens: [READ] } }),
  );
  const calls: string[] = [];
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    calls.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return Promise.resolve(app.request(input, init));
  };
  return { queue, fetch: fetch as typeof globalThis.fetch, calls, url: "http://queue.test/queue" };
}

describe("an HttpWorker whose token is refused", () => {
  test("401: it stops, logs one error, calls onError once, and claims nothing more", async () => {
    const { queue, fetch, calls, url } = await inProcessServer();
    try {
      await queue.enqueue({ name: "job", taskType: "job" });
      const { logger, lines } = recorder();
      const errors: unknown[] = [];
      let ran = 0;
      const worker = new HttpWorker({
        url,
        fetch,
        token: "wrong-token-000",
        logger,
        clock: new FakeClock().clock,
        handlers: { job: () => void ran++ },
        onError: (error) => void errors.push(error),
      });
      worker.start();
      await until("the refusal is logged", () => lines.some((l) => l.level === "error"));
      await worker.stop();
      await settle(10);
      assert.equal(calls.length, 1, "one claim, no retry loop");
      assert.equal(ran, 0);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof HttpQueueError);
      assert.equal(errors[0].status, 401);
      const failures = lines.filter((l) => l.level === "error");
      assert.equal(failures.length, 1, JSON.stringify(lines));
      assert.equal(failures[0]!.message, "Worker stopped: the queue server refused its token");
      assert.equal(failures[0]!.fields.status, 401);
      assert.equal(failures[0]!.fields.url, url);
      assert.equal((await queue.getQueueStats()).pending, 1, "the task is left alone");
    } finally {
      await queue.close();
    }
  });

  test("403 (a read-only token): tick() rejects, and the default logger prints it", async () => {
    const { queue, fetch, calls, url } = await inProcessServer();
    const printed: unknown[][] = [];
    const original = { error: console.error, warn: console.warn };
    try {
      await queue.enqueue({ name: "job", taskType: "job" });
      const worker = new HttpWorker({ url, fetch, token: READ, handlers: { job: () => 1 } });
      Object.assign(console, {
        error: (...args: unknown[]) => void printed.push(args),
        warn: (...args: unknown[]) => void printed.push(args),
      });
      const error = await worker.tick().then(() => null, (error: unknown) => error);
      Object.assign(console, original);
      assert.ok(error instanceof HttpQueueError, String(error));
      assert.equal(error.status, 403);
      assert.equal(calls.length, 1);
      assert.equal(printed.length, 1, JSON.stringify(printed));
      const line = JSON.parse(String(printed[0]![0]));
      assert.equal(line.level, "error");
      assert.equal(line.message, "Worker stopped: the queue server refused its token");
      assert.equal(line.status, 403);
      assert.equal((await queue.getQueueStats()).pending, 1);
    } finally {
      Object.assign(console, original);
      await queue.close();
    }
  });

  test("a good token still works after a refused tick: each run tries again", async () => {
    const { queue, fetch, url } = await inProcessServer();
    try {
      await queue.enqueue({ name: "job", taskType: "job" });
      let token = "wrong-token-000";
      const worker = new HttpWorker({
        url,
        fetch: (input, init) => {
          const headers = { ...init?.headers as Record<string, string> };
          headers.authorization = `Bearer ${token}`;
          return fetch(input, { ...init, headers });
        },
        logger: silentLogger,
        handlers: { job: () => "done" },
      });
      await assert.rejects(worker.tick(), (e: unknown) => (e as HttpQueueError).status === 401);
      token = WRITE;
      assert.equal(await worker.tick(), 1);
      assert.equal((await queue.getQueueStats()).completed, 1);
    } finally {
      await queue.close();
    }
  });
});

describe("an HttpWorker whose server goes away", () => {
  test("killed mid long poll, then refusing connections: claims back off 1 s, 2 s … 30 s, reported once; it carries on when the server is back", async () => {
    const serverClock = new FakeClock(); // the server's long poll waits on it
    const workerClock = new FakeClock();
    const queue = await TaskQueue.open(":memory:", { clock: serverClock.clock });
    const app = new Hono().route("/queue", createQueueApp(queue));
    let claims = 0; // claims that reached the server
    const handler = (request: Request) => {
      if (new URL(request.url).pathname.endsWith("/worker/claim")) claims++;
      return app.fetch(request);
    };
    let server = await serve(handler, { port: 0, hostname: "127.0.0.1" });
    const port = server.port;
    const { logger, lines } = recorder();
    const ran: string[] = [];
    const worker = new HttpWorker({
      url: `http://127.0.0.1:${port}/queue`,
      waitMs: 20_000,
      logger,
      clock: workerClock.clock,
      handlers: { job: (_payload, ctx) => void ran.push(ctx.task.name) },
    });
    try {
      worker.start();
      await until("the worker long-polls", () => serverClock.pending > 0);
      await server.close({ timeoutMs: 0 }); // the long poll's connection is cut

      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        await until("a backoff sleep", () => workerClock.pending > 0);
        assert.equal(workerClock.pending, 1, "one sleep: no other loop runs");
        delays.push(workerClock.timers[0]!);
        workerClock.advance(workerClock.timers[0]!);
      }
      await until("a backoff sleep", () => workerClock.pending > 0);
      delays.push(workerClock.timers[0]!);
      assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
      assert.equal(claims, 1, "no claim reached the server while it was down");
      const warnings = lines.filter((l) => l.level === "warn");
      assert.equal(warnings.length, 1, JSON.stringify(lines));
      assert.match(warnings[0]!.message, /^Cannot reach the queue server/);
      assert.equal(lines.filter((l) => l.level === "error").length, 0, JSON.stringify(lines));

      server = await serve(handler, { port, hostname: "127.0.0.1" });
      workerClock.advance(30_000);
      await until("the worker long-polls again", () => claims === 2);
      await queue.enqueue({ name: "after the outage", taskType: "job" }); // answers the long poll
      await until("the task ran", () => ran.length === 1);
      const infos = lines.filter((l) => l.message === "Reconnected to the queue server");
      assert.equal(infos.length, 1, JSON.stringify(lines));
      assert.equal(infos[0]!.level, "info");
      assert.equal(infos[0]!.fields.failures, 9);
      assert.equal(infos[0]!.fields.downMs, 151_000);
      await until(
        "it is completed",
        async () => (await queue.getQueueStats()).completed === 1,
      );
      assert.deepEqual(ran, ["after the outage"]);
      assert.equal(lines.filter((l) => l.level === "warn").length, 1, "still one warning");
    } finally {
      await worker.stop({ timeoutMs: 0 });
      await server.close({ timeoutMs: 0 });
      await queue.close();
    }
  });

  test("a tick against a server that is down returns 0 and warns once per outage", async () => {
    const probe = await serve(() => new Response("gone"), { port: 0, hostname: "127.0.0.1" });
    const port = probe.port;
    await probe.close();
    const { logger, lines } = recorder();
    const worker = new HttpWorker({
      url: `http://127.0.0.1:${port}/queue`,
      logger,
      handlers: { job: () => 1 },
    });
    assert.equal(await worker.tick(), 0);
    assert.equal(await worker.tick(), 0);
    assert.deepEqual(lines.map((l) => l.level), ["warn"]);
    assert.equal(lines[0]!.fields.url, `http://127.0.0.1:${port}/queue`);
    assert.match(
      String(lines[0]!.fields.error),
      /^Cannot reach http:\/\/127\.0\.0\.1:\d+\/queue: /,
    );
  });

  test("a 5xx is an outage too; a 400 is not waited out", async () => {
    const clock = new FakeClock();
    let status = 503;
    const { logger, lines } = recorder();
    const worker = new HttpWorker({
      url: "http://queue.test/queue",
      // The claims meet the status; the registry's beats are answered (they are not claims).
      fetch: (input: string | URL | Request) =>
        Promise.resolve(
          status === 200 || /\/worker\/(de)?register$/.test(String(input))
            ? Response.json({ tasks: [] })
            : Response.json({ error: { code: "x", message: "no" } }, { status }),
        ),
      waitMs: 0,
      logger,
      clock: clock.clock,
      handlers: { job: () => 1 },
    });
    worker.start();
    await until("a backoff sleep", () => clock.pending > 0);
    assert.deepEqual(clock.timers, [1000]);
    status = 200;
    clock.advance(1000);
    await until("the poll sleep", () => clock.pending > 0);
    assert.deepEqual(clock.timers, [1000], "the poll interval, after a good answer");
    assert.deepEqual(lines.map((l) => l.level), ["warn", "info"]);
    status = 400;
    clock.advance(1000);
    await until("an error is reported", () => lines.length === 3);
    assert.equal(lines[2]!.level, "error");
    assert.match(String(lines[2]!.fields.error), /HTTP 400 x: no/);
    await worker.stop();
  });
});

describe("the HTTP client's errors", () => {
  test("carry one prefix, with the client's verb", async () => {
    const { queue, fetch, url } = await inProcessServer();
    try {
      const client = new HttpQueueClient({ url, fetch, token: WRITE });
      const id = await queue.enqueue({ name: "job", taskType: "job" });
      const [task] = await client.dequeueMany(1, { taskTypes: ["job"] }, { wait: false });
      assert.equal(task?.id, id);
      await client.completeTask(task!, "once");
      await assert.rejects(client.completeTask(task!, "twice"), (error: unknown) => {
        assert.ok(error instanceof LeaseLostError, String(error));
        assert.match(error.message, new RegExp(`^Cannot complete task ${id}: `));
        assert.doesNotMatch(error.message, /Cannot .*Cannot/);
        return true;
      });
      await assert.rejects(client.heartbeat(task!), (error: unknown) => {
        assert.ok(error instanceof LeaseLostError, String(error));
        assert.match(error.message, new RegExp(`^Cannot heartbeat task ${id}: `));
        assert.doesNotMatch(error.message, /Cannot .*Cannot/);
        return true;
      });
      await assert.rejects(
        client.release({ ...task!, id: 999 }),
        (error: unknown) =>
          error instanceof TaskNotFoundError &&
          error.message === "Cannot release task 999: no such task",
      );
    } finally {
      await queue.close();
    }
  });
});

describe("tasklite serve", () => {
  test("logs a failed attempt at warn and a dead letter at error, at the default level", async () => {
    const tmp = tempDir();
    const cli = fileURLToPath(new URL("../cli.ts", import.meta.url));
    const handlers = tmp.file("handlers.ts");
    writeFileSync(
      handlers,
      'export const handlers = { boom: () => { throw new Error("boom"); } };\n',
    );
    const [command, argv] = scriptCommand(cli, [
      "serve",
      "--db",
      tmp.file("served.db"),
      "--port",
      "0",
      "--handlers",
      handlers,
    ]);
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const lines = () =>
      stderr.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    try {
      await until("the server listens", () => /at (http:\/\/\S+) /.test(stdout));
      const url = stdout.match(/at (http:\/\/\S+) /)![1]!;
      const enqueue = async (body: unknown) => {
        const response = await fetch(`${url}tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        assert.equal(response.status, 201);
        return ((await response.json()) as { id: number }).id;
      };
      const retried = await enqueue({ name: "retried", taskType: "boom", maxRetries: 3 });
      const dead = await enqueue({ name: "dead", taskType: "boom", maxRetries: 0 });
      await until("both are logged", () => lines().some((l) => l.taskId === dead));
      await until("both are logged", () => lines().some((l) => l.taskId === retried));
      const warn = lines().find((l) => l.taskId === retried)!;
      assert.equal(warn.level, "warn");
      assert.equal(warn.message, "Task failed; it will be retried");
      assert.equal(warn.error, "boom");
      assert.equal(warn.taskType, "boom");
      const error = lines().find((l) => l.taskId === dead)!;
      assert.equal(error.level, "error");
      assert.equal(error.message, "Task failed with no retries left (dead letter)");
      assert.equal(error.error, "boom");
    } finally {
      if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      assert.equal(await exited, 0, stderr);
      tmp.cleanup();
    }
  });
});
