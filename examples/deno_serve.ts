/**
 * Serve the queue's API and dashboard with `Deno.serve`, mounted under /queue next to the
 * application's own routes, with a worker in the same process.
 *
 *   deno run -A examples/deno_serve.ts          → http://127.0.0.1:8000/queue (dashboard)
 *   deno run -A examples/deno_serve.ts --demo   (serves, enqueues over HTTP, prints, exits)
 */

import { Hono } from "hono";
import { TaskQueue, Worker } from "../mod.ts";
import { createQueueApp } from "../hono.ts";

const demo = Deno.args.includes("--demo");
const queue = await TaskQueue.open(demo ? ":memory:" : "tasks.db");
const worker = new Worker(queue, {
  handlers: { resize: (payload: { width: number }) => ({ resized: payload.width }) },
  pollIntervalMs: 100,
});
worker.start();

const app = new Hono();
app.get("/", (c) => c.text("my app"));
app.route("/queue", createQueueApp(queue, { auth: { writeTokens: ["change-me-please"] } }));

const server = Deno.serve(
  { port: demo ? 0 : 8000, hostname: "127.0.0.1", onListen() {} },
  app.fetch,
);
const base = `http://127.0.0.1:${server.addr.port}`;
console.log(`serving ${base}/ (app) and ${base}/queue (dashboard, API)`);

if (demo) {
  const headers = { authorization: "Bearer change-me-please", "content-type": "application/json" };
  const created = await fetch(`${base}/queue/tasks`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "Thumbnail", taskType: "resize", payload: { width: 200 } }),
  });
  const { id } = await created.json();
  await worker.onIdle();
  const task = await (await fetch(`${base}/queue/tasks/${id}`, { headers })).json();
  console.log(`task #${id}: ${task.status}, result ${JSON.stringify(task.result)}`);
  await worker.stop();
  await server.shutdown();
  await queue.close();
}
