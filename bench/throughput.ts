/**
 * Baseline throughput of the core transitions on a real file, on whichever runtime runs it:
 *
 *   deno run -A bench/throughput.ts [tasks]
 *   bun bench/throughput.ts [tasks]
 *   node bench/throughput.ts [tasks]
 *
 * Prints tasks per second for each phase. Timings on a shared machine are noisy: compare runs made
 * side by side, not against numbers from elsewhere.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskQueue } from "../mod.ts";

const total = Number(process.argv[2] ?? 20_000);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const dir = mkdtempSync(join(tmpdir(), "tasklite-bench-"));
const queue = await TaskQueue.open(join(dir, "bench.db"));
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString("en-US");
const results: Record<string, string> = {};

async function phase(name: string, n: number, fn: () => Promise<void>): Promise<void> {
  const start = performance.now();
  await fn();
  results[name] = `${rate(n, performance.now() - start)} tasks/s`;
}

try {
  await phase("enqueue (one per call)", total, async () => {
    for (let i = 0; i < total; i++) {
      await queue.enqueue({ name: `t${i}`, taskType: "bench", payload: { i } });
    }
  });
  await phase("dequeue + complete (one per call)", total, async () => {
    for (let task = await queue.dequeue(); task; task = await queue.dequeue()) {
      await queue.completeTask(task, null);
    }
  });
  await phase("enqueueMany (batches of 1000)", total, async () => {
    for (let i = 0; i < total; i += 1000) {
      await queue.enqueueMany(
        Array.from({ length: 1000 }, (_, j) => ({ name: `b${i + j}`, taskType: "bench" })),
      );
    }
  });
  await phase("dequeueMany(100) + complete each", total, async () => {
    for (
      let batch = await queue.dequeueMany(100);
      batch.length;
      batch = await queue.dequeueMany(100)
    ) {
      for (const task of batch) await queue.completeTask(task, null);
    }
  });
  for (let i = 0; i < total; i += 1000) {
    await queue.enqueueMany(
      Array.from({ length: 1000 }, (_, j) => ({ name: `c${i + j}`, taskType: "bench" })),
    );
  }
  await phase("dequeueMany(100) + completeMany(100)", total, async () => {
    for (
      let batch = await queue.dequeueMany(100);
      batch.length;
      batch = await queue.dequeueMany(100)
    ) {
      await queue.completeMany(batch.map((task) => ({ task, result: null })));
    }
  });
  console.log(`tasklite on ${runtime}, ${total} tasks, file in ${tmpdir()}`);
  console.table(results);
} finally {
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
}
