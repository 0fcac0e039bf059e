/**
 * A remote worker (`HttpWorker`) stores a handler's result as `JSON.stringify` serialises it, and
 * fails a task for good, running its handler once, when the result cannot be serialised: the same
 * rules as a worker in the queue's process.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { HttpWorker, silentLogger, TaskQueue, TaskStatus } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { serve } from "../src/http/serve.ts";

test("an HttpWorker serialises results like JSON.stringify and never retries one it cannot", async () => {
  const queue = await TaskQueue.open(":memory:");
  const app = new Hono().route(
    "/queue",
    createQueueApp(queue, { auth: { writeTokens: ["remote-results-token"] } }),
  );
  const server = await serve(app.fetch, { port: 0, hostname: "127.0.0.1" });
  try {
    const dated = await queue.enqueue({ name: "dated", taskType: "dated", maxRetries: 3 });
    const cyclic = await queue.enqueue({ name: "cyclic", taskType: "cyclic", maxRetries: 3 });
    const runs = { dated: 0, cyclic: 0 };
    const worker = new HttpWorker({
      url: `http://127.0.0.1:${server.port}/queue`,
      token: "remote-results-token",
      logger: silentLogger,
      concurrency: 2,
      handlers: {
        dated: () => (runs.dated++, { at: new Date(Date.UTC(2026, 11, 1)), gone: undefined }),
        cyclic: () => {
          runs.cyclic++;
          const value: Record<string, unknown> = {};
          value.self = value;
          return value;
        },
      },
    });
    assert.equal(await worker.tick(), 2);
    const done = (await queue.getTask(dated))!;
    assert.equal(done.status, TaskStatus.COMPLETED, done.error ?? "");
    assert.deepEqual(done.result, { at: "2026-12-01T00:00:00.000Z" });
    const failed = (await queue.getTask(cyclic))!;
    assert.equal(failed.status, TaskStatus.FAILED);
    assert.equal(failed.attempts, 1);
    assert.match(failed.error!, /Invalid task result: must be serialisable as JSON/);
    assert.equal(await worker.tick(), 0, "nothing is due again");
    assert.deepEqual(runs, { dated: 1, cyclic: 1 });
  } finally {
    await server.close();
    await queue.close();
  }
});
