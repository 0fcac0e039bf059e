/**
 * Rate and concurrency limits per task type, stored in the queue file and enforced across every
 * worker and process that shares it: here at most 5 `external_api` calls per second and at most
 * 2 `video_encode` at once, with three workers competing.
 *
 *   deno run -A examples/rate_limited_api.ts
 *   bun examples/rate_limited_api.ts
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskQueue, Worker } from "../mod.ts";

const dir = mkdtempSync(join(tmpdir(), "tasklite-limits-"));
const path = join(dir, "tasks.db");
const queue = await TaskQueue.open(path);
await queue.setLimits("external_api", { rate: { max: 5, intervalMs: 1000 } });
await queue.setLimits("video_encode", { concurrency: 2 });

await queue.enqueueMany([
  ...Array.from({ length: 12 }, (_, i) => ({
    name: `API call ${i + 1}`,
    taskType: "external_api",
    payload: { n: i + 1 },
  })),
  ...Array.from({ length: 4 }, (_, i) => ({
    name: `Encode ${i + 1}`,
    taskType: "video_encode",
    payload: { n: i + 1 },
  })),
]);

const start = Date.now();
const since = () => `${String(Date.now() - start).padStart(5)} ms`;
let encoding = 0;
const handlers = {
  external_api: (payload: { n: number }) => {
    console.log(`${since()}  🌐 API call ${payload.n}`);
    return { status: 200 };
  },
  video_encode: async (payload: { n: number }) => {
    console.log(`${since()}  🎞️ encode ${payload.n} starts (${++encoding} encoding)`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    encoding--;
  },
};
const workers = [1, 2, 3].map((n) =>
  new Worker(queue, { handlers, concurrency: 4, pollIntervalMs: 50, workerId: `worker-${n}` })
);
for (const worker of workers) worker.start();
while (true) {
  const stats = await queue.getQueueStats();
  if (stats.pending + stats.running === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await Promise.all(workers.map((worker) => worker.stop()));
console.log(`${since()}  ✅ all ${(await queue.getQueueStats()).completed} tasks completed`);
await queue.close();
rmSync(dir, { recursive: true, force: true });
