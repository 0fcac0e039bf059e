/**
 * "Why isn't my task running?" over HTTP: `GET /tasks/:id/explain`, the worker registry
 * (`POST /worker/register`, `/worker/deregister`, `GET /workers`, an `HttpWorker` that registers
 * itself) and the `GET /tasks/:id/wait` long poll behind `HttpQueueClient.waitFor`.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  HttpQueueClient,
  HttpWorker,
  silentLogger,
  TaskNotFoundError,
  TaskQueue,
  ValidationError,
  WaitTimeoutError,
} from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { FakeClock, settle } from "./_helpers.ts";

const READ = "read-token";
const WRITE = "write-token";

/** A queue on a fake clock served in process, and a client whose fetch goes to it. */
async function served() {
  const clock = new FakeClock();
  const queue = await TaskQueue.open(":memory:", { clock: clock.clock });
  const app = createQueueApp(queue, { auth: { readTokens: [READ], writeTokens: [WRITE] } });
  const fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
    app.request(
      input instanceof Request ? input : String(input),
      init,
    )) as typeof globalThis.fetch;
  const options = { url: "http://queue.test/", fetch, logger: silentLogger, clock: clock.clock };
  const client = new HttpQueueClient({ ...options, token: WRITE, waitMs: 0 });
  return { clock, queue, app, fetch, options, client };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let turn = 0; !(await check()); turn++) {
    if (turn > 500) throw new Error(`Timed out waiting for ${what}`);
    await settle(1);
  }
}

describe("explain, workers and waitFor over HTTP", () => {
  test("GET /tasks/:id/explain answers what queue.explain() does; 404 for no task", async () => {
    const { queue, app, client } = await served();
    try {
      const id = await queue.enqueue({ name: "n", taskType: "report" });
      await queue.pause("report");
      const response = await app.request(`/tasks/${id}/explain`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.deepEqual(body, await queue.explain(id));
      assert.deepEqual(body.reasons.map((r: { code: string }) => r.code), [
        "type_paused",
        "no_worker",
      ]);
      assert.deepEqual(await client.explain(id), body);
      await assert.rejects(client.explain(999), TaskNotFoundError);
      const anonymous = await app.request(`/tasks/${id}/explain`);
      assert.equal(anonymous.status, 401, "the read scope is needed");
    } finally {
      await queue.close();
    }
  });

  test("an HttpWorker registers (its long poll counted in its beat), is listed, and deregisters", async () => {
    const { clock, queue, options, client } = await served();
    try {
      const worker = new HttpWorker({
        ...options,
        token: WRITE,
        waitMs: 2_000,
        pollIntervalMs: 500,
        concurrency: 2,
        workerId: "remote-7",
        handlers: { email: () => "sent" },
      });
      worker.start();
      await until("the registration", async () => (await queue.workers()).length === 1);
      const [info] = await client.workers();
      assert.equal(info?.id, "remote-7");
      assert.equal(info?.alive, true);
      assert.deepEqual(info?.taskTypes, ["email"]);
      assert.equal(info?.concurrency, 2);
      assert.equal(info?.beatIntervalMs, 3_000, "its beat (1 s at least) + the long poll's wait");
      assert.equal(info?.heartbeatAt, clock.now, "stamped by the server's clock");
      const sms = await queue.enqueue({ name: "n", taskType: "sms" });
      assert.deepEqual((await client.explain(sms)).reasons.map((r) => r.code), ["no_worker"]);
      await worker.stop();
      assert.deepEqual(await queue.workers(), []);
      const bad = await client.registerWorker({
        id: "",
        concurrency: 1,
        startedAt: 0,
        beatIntervalMs: 1,
      }).then(() => null, (error) => error);
      assert.ok(bad instanceof ValidationError, "a bad registration is a 400");
      assert.deepEqual(await queue.workers(), [], "and writes nothing");
    } finally {
      await queue.close();
    }
  });

  test("an HttpWorker of a server without the registry (404) warns once and works on", async () => {
    const { clock, queue, fetch, options } = await served();
    try {
      const asked: string[] = [];
      const older = ((input: RequestInfo | URL, init?: RequestInit) => {
        const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
        if (path.startsWith("/worker/register") || path.startsWith("/worker/deregister")) {
          asked.push(path);
          return Promise.resolve(
            Response.json({ error: { code: "not_found", message: "No route" } }, { status: 404 }),
          );
        }
        return fetch(input, init);
      }) as typeof globalThis.fetch;
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
      const worker = new HttpWorker({
        ...options,
        fetch: older,
        logger,
        token: WRITE,
        waitMs: 0,
        handlers: { email: () => "sent" },
      });
      const id = await queue.enqueue({ name: "n", taskType: "email" });
      worker.start();
      await until("the task", async () => (await queue.getTask(id))?.status === "completed");
      for (let i = 0; i < 3; i++) {
        await until("a poll", () => Promise.resolve(clock.pending > 0));
        clock.advance(1000);
      }
      await worker.stop();
      assert.deepEqual(asked, ["/worker/register"], "asked once, not at each beat, not at stop");
      assert.deepEqual(warnings, [
        "The queue server has no worker registry: this worker is not listed",
      ]);
    } finally {
      await queue.close();
    }
  });

  test("waitFor long-polls until the task finishes; a timeout rejects with WaitTimeoutError", async () => {
    const { clock, queue, app, client } = await served();
    try {
      const id = await queue.enqueue({ name: "n", taskType: "t" });
      let done = false;
      const waited = client.waitFor(id, { timeoutMs: 60_000 }).finally(() => (done = true));
      await clock.sleeping(); // the server holds the request
      assert.equal(done, false);
      await queue.completeTask((await queue.dequeue())!, { ok: true });
      assert.deepEqual((await waited).result, { ok: true });

      const other = await queue.enqueue({ name: "m", taskType: "t" });
      const timed = client.waitFor(other, { timeoutMs: 45_000 });
      let failed: unknown = null;
      void timed.catch((error) => (failed = error));
      await clock.sleeping();
      await clock.tick(30_000); // the first long poll: at most 30 s
      await clock.sleeping(); // the second, of the 15 s left
      assert.equal(failed, null);
      await clock.tick(15_000);
      await assert.rejects(timed, WaitTimeoutError);
      assert.equal((failed as unknown as WaitTimeoutError).status, "pending");

      const raw = await app.request(`/tasks/${other}/wait?timeoutMs=0`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      assert.equal(raw.status, 200);
      assert.deepEqual(await raw.json(), { finished: false, task: await queue.getTask(other) });
      const tooLong = await app.request(`/tasks/${other}/wait?timeoutMs=30001`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      assert.equal(tooLong.status, 400);
      await assert.rejects(client.waitFor(404, { timeoutMs: 1 }), TaskNotFoundError);
      assert.equal(clock.pending, 0, "no wait left behind");
    } finally {
      await queue.close();
    }
  });
});
