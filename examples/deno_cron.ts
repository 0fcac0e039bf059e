/**
 * Workers driven by a scheduler instead of a polling loop: each tick fires due recurring
 * schedules and runs what is due, then returns.
 *
 * - Deno: `Deno.cron` drives the tick (run with `deno run -A --unstable-cron examples/deno_cron.ts`;
 *   on Deno Deploy, Deno.cron needs no flag).
 * - Bun and Node.js (or Deno without the flag): a plain interval loop does the same.
 *
 * Pass `--once` to run a single tick and exit.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskQueue, TaskStatus, Worker } from "../mod.ts";

const once = process.argv.includes("--once");
const dir = once ? mkdtempSync(join(tmpdir(), "tasklite-cron-")) : null;
const path = dir ? join(dir, "tasks.db") : "tasks.db";
const queue = await TaskQueue.open(path);

// Recurring schedules live in the database: every process sees them, each slot fires once.
await queue.schedule("nightly-report", "0 3 * * *", {
  taskType: "report",
  payload: { kind: "sales" },
  timezone: "Europe/Paris",
});
await queue.enqueue({ name: "Warm the cache", taskType: "cache", payload: { keys: 100 } });

const worker = new Worker(queue, {
  handlers: {
    report: (payload: { kind: string }) => ({ report: payload.kind, rows: 1234 }),
    cache: (payload: { keys: number }) => ({ warmed: payload.keys }),
  },
  concurrency: 4,
});

async function tick(): Promise<void> {
  const ran = await worker.tick(); // fires due schedules, runs due tasks, returns
  const [next] = await queue.getSchedules();
  console.log(
    `tick: ran ${ran} task(s); next report at ${new Date(next!.nextRunAt!).toISOString()}`,
  );
}

if (once) {
  await tick();
  const done = await queue.getTasksByStatus(TaskStatus.COMPLETED);
  console.log(`completed: ${done.map((task) => task.name).join(", ")}`);
  await queue.close();
  rmSync(dir!, { recursive: true, force: true });
} else if ("Deno" in globalThis && typeof Deno.cron === "function") {
  Deno.cron("tasklite tick", "* * * * *", tick);
  console.log("Deno.cron drives the worker every minute");
} else {
  setInterval(tick, 60_000);
  await tick();
  console.log("an interval loop drives the worker every minute");
}
