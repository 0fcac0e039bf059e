/**
 * Graceful shutdown: on SIGINT or SIGTERM the worker stops claiming, gives running tasks
 * `timeoutMs` to finish, then aborts the rest (`ctx.signal`) and gives their leases back so
 * another worker picks them up at once.
 *
 *   deno run -A examples/graceful_shutdown.ts     (press Ctrl-C, or pass --demo)
 *   bun examples/graceful_shutdown.ts --demo
 *
 * With `--demo` the process sends itself SIGTERM after a moment.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shutdownOnSignals, TaskQueue, Worker } from "../mod.ts";

const dir = mkdtempSync(join(tmpdir(), "tasklite-shutdown-"));
const path = join(dir, "tasks.db");
const queue = await TaskQueue.open(path);
await queue.enqueueMany([
  { name: "Quick job", taskType: "work", payload: { ms: 100 } },
  { name: "Long job", taskType: "work", payload: { ms: 60_000 } },
]);

const worker = new Worker(queue, {
  concurrency: 2,
  handlers: {
    work: async (payload: { ms: number }, ctx) => {
      console.log(`⚙️ ${ctx.task.name}: working for ${payload.ms} ms`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, payload.ms);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
      console.log(`✅ ${ctx.task.name}: done`);
    },
  },
});
worker.start();

shutdownOnSignals(worker, {
  timeoutMs: 500,
  onShutdown: async () => {
    const stats = await queue.getQueueStats();
    console.log(`🛑 stopped: ${stats.completed} completed, ${stats.pending} given back (pending)`);
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  },
});
console.log("🔧 worker started; send SIGINT or SIGTERM to stop it");

if (process.argv.includes("--demo")) {
  setTimeout(() => process.kill(process.pid, "SIGTERM"), 400);
}
