/**
 * A worker on another machine: it claims tasks from a queue served over HTTP (long-polling when
 * idle) and runs the same handlers as an in-process worker, with heartbeats, timeouts,
 * cancellation and graceful shutdown.
 *
 *   deno run -A examples/remote_worker.ts http://127.0.0.1:8000/queue change-me-please
 *   deno run -A examples/remote_worker.ts --demo   (serves a queue itself, then works it)
 */

import { Hono } from "hono";
import { HttpWorker, shutdownOnSignals, TaskQueue } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { serve } from "../src/http/serve.ts";

const handlers = {
  send_email: async (payload: { to: string }, ctx: { signal: AbortSignal }) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return { sent: payload.to };
  },
};

if (process.argv.includes("--demo")) {
  // A server in this process stands in for the remote one.
  const queue = await TaskQueue.open(":memory:");
  const app = new Hono().route(
    "/queue",
    createQueueApp(queue, { auth: { writeTokens: ["demo-token-123"] } }),
  );
  const server = await serve(app.fetch, { port: 0 });
  await queue.enqueueMany(
    ["ada", "grace", "linus"].map((to) => ({
      name: `Email ${to}`,
      taskType: "send_email",
      payload: { to },
    })),
  );
  const worker = new HttpWorker({
    url: `http://127.0.0.1:${server.port}/queue`,
    token: "demo-token-123",
    handlers,
    concurrency: 2,
    waitMs: 200,
  });
  worker.start();
  await worker.onIdle();
  await worker.stop();
  for (const task of await queue.getTasksByStatus("completed")) {
    console.log(`#${task.id} ${task.name}: ${JSON.stringify(task.result)} by ${task.workerId}`);
  }
  await server.close();
  await queue.close();
} else {
  const [url, token] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
  if (!url) {
    console.error("Usage: remote_worker.ts <queue URL> [token]   (or --demo)");
    console.error("  for example: remote_worker.ts http://127.0.0.1:8000/queue change-me-please");
    process.exit(1);
  }
  const worker = new HttpWorker({ url, ...(token ? { token } : {}), handlers, concurrency: 4 });
  worker.start();
  shutdownOnSignals(worker, { timeoutMs: 10_000 });
  console.log(`working for ${url}; Ctrl-C to stop`);
}
