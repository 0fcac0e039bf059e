/**
 * A typed client for the HTTP API with `hono/client`: routes, bodies and responses are checked by
 * the compiler from the server's own type, `QueueApp`.
 *
 *   deno run -A examples/typed_client.ts
 *   bun examples/typed_client.ts
 */

import { Hono } from "hono";
import { hc } from "hono/client";
import { TaskQueue } from "../mod.ts";
import { createQueueApp, type QueueApp } from "../hono.ts";
import { serve } from "../src/http/serve.ts";

const queue = await TaskQueue.open(":memory:");
const app = new Hono().route("/queue", createQueueApp(queue));
const server = await serve(app.fetch, { port: 0 });

const client = hc<QueueApp>(`http://127.0.0.1:${server.port}/queue`);

const created = await client.tasks.$post({
  json: {
    name: "Send welcome email",
    taskType: "send_email",
    payload: { to: "a@b.c" },
    priority: 3,
  },
});
if (created.status !== 201) throw new Error(`enqueue failed: ${created.status}`);
const { id } = await created.json();
console.log(`enqueued task #${id}`);

const task = await client.tasks[":id"].$get({ param: { id: String(id) } });
if (task.ok) {
  const body = await task.json();
  if ("status" in body) console.log(`task #${id} is ${body.status}`);
}

const stats = await client.stats.$get();
if (stats.ok) console.log(`pending: ${(await stats.json()).pending}`);

const list = await client.tasks.$get({ query: { status: "pending", limit: "10" } });
if (list.ok) {
  const page = await list.json();
  if ("tasks" in page) console.log(`listed: ${page.tasks.map((t) => t.name).join(", ")}`);
}

const bad = await client.tasks.$post({ json: { name: "", taskType: "t" } });
console.log(`an empty name gets ${bad.status}`);

await server.close();
await queue.close();
