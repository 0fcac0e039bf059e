/**
 * The Hono sub-app over a PostgreSQL-backed queue works unchanged: enqueue, stats, lists and the
 * dashboard through `app.request()`, and an `HttpWorker` against a served app runs a task to
 * completed. Needs `TASKLITE_PG_URL`; without it, skipped visibly. Each test has a schema of its
 * own, dropped after.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { HttpWorker, silentLogger, TaskQueue, TaskStatus } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { serve } from "../src/http/serve.ts";

const URL = process.env.TASKLITE_PG_URL;
const skip = URL ? false : "engine postgres: TASKLITE_PG_URL is not set";
if (skip) console.log(`SKIP postgres_http_test: ${skip}`);

const TOKEN = "postgres-http-token";

/** Runs `body` on a queue over a fresh schema, closing it and dropping the schema after. */
async function withQueue(body: (queue: TaskQueue) => Promise<void>): Promise<void> {
  const schema = `tasklite_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const queue = await TaskQueue.open({ postgres: URL!, schema });
  try {
    await body(queue);
  } finally {
    await queue.close();
    const { default: postgres } = await import("postgres");
    const sql = postgres(URL!, { onnotice: () => {}, max: 1 });
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end({ timeout: 5 });
  }
}

describe("HTTP API over PostgreSQL", { skip }, () => {
  test("app.request(): enqueue, stats, lists and the dashboard", () =>
    withQueue(async (queue) => {
      const app = new Hono().route(
        "/queue",
        createQueueApp(queue, { auth: { writeTokens: [TOKEN] } }),
      );
      const auth = { authorization: `Bearer ${TOKEN}` };
      const created = await app.request("/queue/tasks", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: "Resize cat.jpg", taskType: "image", payload: { w: 64 } }),
      });
      assert.equal(created.status, 201);
      const { id } = await created.json() as { id: number };
      assert.deepEqual((await queue.getTask(id))?.payload, { w: 64 }, "stored in PostgreSQL");

      const stats = await app.request("/queue/stats", { headers: auth });
      assert.equal(stats.status, 200);
      assert.deepEqual(await stats.json(), {
        pending: 1,
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
      });

      const listed = await app.request("/queue/tasks?status=pending&q=cat", { headers: auth });
      assert.equal(listed.status, 200);
      const { tasks } = await listed.json() as { tasks: { id: number; name: string }[] };
      assert.deepEqual(tasks.map((task) => [task.id, task.name]), [[id, "Resize cat.jpg"]]);
      const none = await app.request("/queue/tasks?status=completed", { headers: auth });
      assert.deepEqual((await none.json() as { tasks: unknown[] }).tasks, []);

      const page = await app.request(`/queue?access_token=${TOKEN}`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      assert.match(await page.text(), /^\s*<!doctype html>/i);

      const refused = await app.request("/queue/tasks", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: "no type" }),
      });
      assert.equal(refused.status, 400, "bad input is refused");
      assert.equal((await queue.getQueueStats()).pending, 1, "and changes nothing");
    }));

  test("an HttpWorker against a served app runs a task to completed", () =>
    withQueue(async (queue) => {
      const app = new Hono().route(
        "/queue",
        createQueueApp(queue, { auth: { writeTokens: [TOKEN] } }),
      );
      const server = await serve(app.fetch, { port: 0, hostname: "127.0.0.1" });
      try {
        const id = await queue.enqueue({ name: "double", taskType: "double", payload: { n: 21 } });
        const worker = new HttpWorker({
          url: `http://127.0.0.1:${server.port}/queue`,
          token: TOKEN,
          waitMs: 0,
          logger: silentLogger,
          workerId: "remote-pg",
          handlers: { double: (payload) => (payload as { n: number }).n * 2 },
        });
        assert.equal(await worker.tick(), 1, "one task claimed and run");
        const task = await queue.getTask(id);
        assert.equal(task?.status, TaskStatus.COMPLETED);
        assert.equal(task?.result, 42);
        assert.equal(task?.workerId, "remote-pg");
        assert.equal((await queue.getQueueStats()).completed, 1);
      } finally {
        await server.close();
      }
    }));
});
