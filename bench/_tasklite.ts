/**
 * tasklite's side of each workload, through its public API only (`../mod.ts`), so that the bench
 * keeps measuring whatever the internals become. Each function opens a queue on a fresh file,
 * does its untimed setup, times its part and returns a {@linkcode Measure}.
 *
 * @module
 */

import process from "node:process";
import { type Synchronous, TaskQueue, Worker } from "../mod.ts";
import { preciseNow, sleep } from "./_runtime.ts";
import { latencyOf, type Measure, quantile, rate } from "./_stats.ts";

/** The task type every workload uses. */
export const TASK_TYPE = "bench";

/** The `i`th task, shaped like the raw baselines' rows. */
function task(i: number, payload: unknown = { i }) {
  return { name: `t${i}`, taskType: TASK_TYPE, payload };
}

/** Opens a queue on `path`. */
function open(path: string, synchronous: Synchronous = "NORMAL"): Promise<TaskQueue> {
  return TaskQueue.open(path, { synchronous });
}

/** Adds `n` tasks with `enqueueMany`, 1,000 per call (untimed setup). */
export async function seed(queue: TaskQueue, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const size = Math.min(1000, n - i);
    await queue.enqueueMany(Array.from({ length: size }, (_, j) => task(i + j)));
  }
}

/** Throws unless `n` tasks completed: a measurement of lost work is no measurement. */
async function expectCompleted(queue: TaskQueue, n: number): Promise<void> {
  const stats = await queue.getQueueStats();
  if (stats.completed < n) {
    throw new Error(`expected ${n} completed tasks, found ${stats.completed}`);
  }
}

/** What {@linkcode processTasks} sets beyond concurrency 8: the Worker's `prefetch`. */
export const PREFETCH = 120;

/** Runs every pending task with one started Worker (concurrency 8) and times it until idle. */
async function drain(
  queue: TaskQueue,
  handler: () => unknown = () => null,
  pollIntervalMs?: number,
  prefetch = 0,
): Promise<number> {
  const worker = new Worker(queue, {
    handlers: { [TASK_TYPE]: handler },
    concurrency: 8,
    prefetch,
    ...(pollIntervalMs ? { pollIntervalMs } : {}),
  });
  const start = performance.now();
  worker.start();
  await worker.onIdle();
  const ms = performance.now() - start;
  await worker.stop();
  return ms;
}

/**
 * `n` pre-enqueued no-op tasks, one Worker with concurrency 8 (and `prefetch`), until all are
 * completed.
 */
export async function processTasks(
  path: string,
  n: number,
  synchronous: Synchronous = "NORMAL",
  prefetch = 0,
): Promise<Measure> {
  const queue = await open(path, synchronous);
  try {
    await seed(queue, n);
    const ms = await drain(queue, undefined, undefined, prefetch);
    await expectCompleted(queue, n);
    return { jobsPerSec: rate(n, ms) };
  } finally {
    await queue.close();
  }
}

/** Processes `n` tasks like {@linkcode processTasks}, noting RSS after 10% of them and at the end. */
export async function processWatchingRss(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    await seed(queue, n);
    let ran = 0;
    let rssFromMb = NaN;
    const ms = await drain(queue, () => {
      if (++ran === Math.ceil(n / 10)) rssFromMb = process.memoryUsage().rss / 2 ** 20;
      return null;
    });
    const rssToMb = process.memoryUsage().rss / 2 ** 20;
    await expectCompleted(queue, n);
    return { jobsPerSec: rate(n, ms), rssFromMb, rssToMb };
  } finally {
    await queue.close();
  }
}

/** `await queue.enqueue(...)` one at a time. */
export async function enqueueOne(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    const start = performance.now();
    for (let i = 0; i < n; i++) await queue.enqueue(task(i));
    return { jobsPerSec: rate(n, performance.now() - start) };
  } finally {
    await queue.close();
  }
}

/** `Promise.all` of 1,000 `enqueue` calls, repeated. */
export async function enqueueConcurrent(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    const start = performance.now();
    for (let i = 0; i < n; i += 1000) {
      const size = Math.min(1000, n - i);
      await Promise.all(Array.from({ length: size }, (_, j) => queue.enqueue(task(i + j))));
    }
    return { jobsPerSec: rate(n, performance.now() - start) };
  } finally {
    await queue.close();
  }
}

/** `enqueueMany` of 1,000 tasks per call. */
export async function enqueueMany(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    const start = performance.now();
    await seed(queue, n);
    return { jobsPerSec: rate(n, performance.now() - start) };
  } finally {
    await queue.close();
  }
}

/** The manual loop: `dequeue()` then `completeTask()`, one task at a time, until none. */
export async function manualLoop(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    await seed(queue, n);
    let count = 0;
    const start = performance.now();
    for (let t = await queue.dequeue(); t; t = await queue.dequeue()) {
      await queue.completeTask(t, null);
      count++;
    }
    const ms = performance.now() - start;
    if (count !== n) throw new Error(`expected ${n} tasks, processed ${count}`);
    return { jobsPerSec: rate(n, ms) };
  } finally {
    await queue.close();
  }
}

/** `dequeueMany(128)` then `completeMany` of that batch, until none is left. */
export async function manualBatches(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    await seed(queue, n);
    let count = 0;
    const start = performance.now();
    for (
      let batch = await queue.dequeueMany(128);
      batch.length;
      batch = await queue.dequeueMany(128)
    ) {
      await queue.completeMany(batch.map((t) => ({ task: t, result: null })));
      count += batch.length;
    }
    const ms = performance.now() - start;
    if (count !== n) throw new Error(`expected ${n} tasks, processed ${count}`);
    return { jobsPerSec: rate(n, ms) };
  } finally {
    await queue.close();
  }
}

/** Resolves when `done()` holds, polling every millisecond, or rejects after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/**
 * An idle Worker in this process (pollIntervalMs 1000): enqueue one task at a time, 2-5 ms apart;
 * each sample is enqueue-call start to handler start.
 */
export async function latencyInProcess(path: string, samples: number): Promise<Measure> {
  const queue = await open(path);
  const started: number[] = [];
  const sent: number[] = [];
  const worker = new Worker(queue, {
    handlers: {
      [TASK_TYPE]: (payload: { i: number }) => {
        started[payload.i] = performance.now() - sent[payload.i]!;
      },
    },
    concurrency: 8,
    pollIntervalMs: 1000,
  });
  try {
    worker.start();
    await worker.onIdle();
    for (let i = 0; i < samples; i++) {
      await sleep(2 + (i % 4));
      sent[i] = performance.now();
      await queue.enqueue(task(i));
    }
    await until(() => started.filter((x) => x !== undefined).length === samples, 10_000, "tasks");
    return latencyOf(started);
  } finally {
    await worker.stop();
    await queue.close();
  }
}

/** The cross-process worker's end: runs tasks of `path` and prints each one's latency. */
export async function latencyWorker(path: string, pollIntervalMs: number): Promise<void> {
  const queue = await open(path);
  const worker = new Worker(queue, {
    handlers: {
      [TASK_TYPE]: (payload: { sentAt: number }) => {
        console.log(`latency ${preciseNow() - payload.sentAt}`);
      },
    },
    concurrency: 8,
    pollIntervalMs,
  });
  worker.start();
  await worker.onIdle();
  console.log("ready");
  // the enqueuer writes a line (or closes stdin) when it has its samples
  await new Promise<void>((resolve) => {
    process.stdin.once("data", () => resolve());
    process.stdin.once("end", () => resolve());
  });
  await worker.stop();
  await queue.close();
}

/** The cross-process enqueuer: enqueues 2-5 ms apart; the samples come from `received()`. */
export async function latencyEnqueuer(
  path: string,
  samples: number,
  received: () => number[],
): Promise<Measure> {
  const queue = await open(path);
  try {
    for (let i = 0; i < samples; i++) {
      await sleep(2 + (i % 4));
      await queue.enqueue(task(i, { sentAt: preciseNow() }));
    }
    await until(() => received().length >= samples, 30_000, "the worker's samples");
    return latencyOf(received());
  } finally {
    await queue.close();
  }
}

/**
 * A Worker draining `n` synchronous no-op handlers while a 10 ms `setInterval` in the same process
 * measures its own lag: p50, p99 and max lag in ms, and the drain rate.
 */
export async function responsiveness(path: string, n: number): Promise<Measure> {
  const queue = await open(path);
  try {
    await seed(queue, n);
    const lags: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lags.push(Math.max(0, now - last - 10));
      last = now;
    }, 10);
    let ms: number;
    try {
      ms = await drain(queue, () => null);
    } finally {
      clearInterval(timer);
    }
    await expectCompleted(queue, n);
    // a backlog drained before the first tick still counts its wait
    lags.push(Math.max(0, performance.now() - last - 10));
    return { jobsPerSec: rate(n, ms), ...latencyOf(lags) };
  } finally {
    await queue.close();
  }
}

/**
 * Against a file that may hold millions of finished rows: enqueue `n` one at a time (timed),
 * process them with a Worker (timed), then time `getQueueStats()` (median of 5 calls).
 */
export async function scaleSequence(path: string, n: number): Promise<Record<string, Measure>> {
  const queue = await open(path);
  try {
    let start = performance.now();
    for (let i = 0; i < n; i++) await queue.enqueue(task(i));
    const enqueueMs = performance.now() - start;
    const before = (await queue.getQueueStats()).completed;
    const processMs = await drain(queue);
    await expectCompleted(queue, before + n);
    const calls: number[] = [];
    for (let i = 0; i < 5; i++) {
      start = performance.now();
      await queue.getQueueStats();
      calls.push(performance.now() - start);
    }
    return {
      "scale-enqueue": { jobsPerSec: rate(n, enqueueMs) },
      "scale-process": { jobsPerSec: rate(n, processMs) },
      "scale-stats": { ms: quantile(calls, 0.5) },
    };
  } finally {
    await queue.close();
  }
}

/** Creates tasklite's schema in `path` (open and close a queue). */
export async function createSchema(path: string): Promise<void> {
  const queue = await open(path);
  await queue.close();
}
