/**
 * Mount the queue's API and dashboard into an existing Bun server (a Hono app with routes of its
 * own), with a worker in the same process.
 *
 *   bun examples/bun_server.ts            → http://127.0.0.1:3000/queue (dashboard)
 *   bun examples/bun_server.ts --demo     (serves, enqueues over HTTP, prints, exits)
 */

import { Hono } from "hono";
import { TaskQueue, Worker } from "../mod.ts";
import { createQueueApp } from "../hono.ts";

const demo = process.argv.includes("--demo");
const queue = await TaskQueue.open(demo ? ":memory:" : "tasks.db");
const worker = new Worker(queue, {
  handlers: { send_email: (payload: { to: string }) => ({ sent: payload.to }) },
  pollIntervalMs: 100,
});
worker.start();

const app = new Hono();
app.get("/", (c) => c.text("my app")); // the application's own routes
app.route("/queue", createQueueApp(queue, { auth: { writeTokens: ["change-me-please"] } }));

type BunServer = { port: number; stop(force?: boolean): void };
const bun = (globalThis as unknown as {
  Bun?: { serve(options: { port: number; hostname: string; fetch: typeof app.fetch }): BunServer };
}).Bun;
if (!bun) throw new Error("Run this example with Bun: bun examples/bun_server.ts");
const server = bun.serve({ port: demo ? 0 : 3000, hostname: "127.0.0.1", fetch: app.fetch });
const base = `http://127.0.0.1:${server.port}`;
console.log(`serving ${base}/ (app) and ${base}/queue (dashboard, API)`);

if (demo) {
  const headers = { authorization: "Bearer change-me-please", "content-type": "application/json" };
  const created = await fetch(`${base}/queue/tasks`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "Welcome", taskType: "send_email", payload: { to: "a@b.c" } }),
  });
  const { id } = await created.json();
  await worker.onIdle();
  const task = await (await fetch(`${base}/queue/tasks/${id}`, { headers })).json();
  console.log(`task #${id}: ${task.status}, result ${JSON.stringify(task.result)}`);
  await worker.stop();
  server.stop(true);
  await queue.close();
}
