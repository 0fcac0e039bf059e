/**
 * The chaos suite's child processes (run on Deno, Bun or Node):
 *
 *   _child.ts worker <db> <history.jsonl> '<WorkerSpec JSON>'   a Worker, recorded; drains or runs
 *                                                                 until killed
 *   _child.ts producer <db> <history.jsonl> '<ProducerSpec JSON>' enqueues, each logged once acked
 *   _child.ts locker <db> <ms> <ready-file>                       holds BEGIN IMMEDIATE for <ms>
 *   _child.ts server <db> <port> <token>                          the HTTP API on <port>
 *   _child.ts remote <url> <token> <history.jsonl> '<WorkerSpec>' a Worker over HttpQueueClient
 *
 * Handlers of type `job` return `{ pid, attempt }`, so the final row says which run completed
 * it; the poison types (`exit`, `spin`, `hang`, `bigint`, `circular`, `getter`, `badmessage`)
 * misbehave as named.
 *
 * @module
 */

import { existsSync, writeFileSync } from "node:fs";
import process from "node:process";
import { HttpQueueClient, TaskQueue, Worker, type WorkerQueue } from "../mod.ts";
import { openDb } from "../bench/_runtime.ts";
import { errorKind } from "./_history.ts";
import { describe, Recorder, recordingQueue } from "./_recording.ts";

/** How a worker child runs. */
export interface WorkerSpec {
  /** Concurrency. */
  concurrency: number;
  /** The lease of each claim. */
  leaseMs: number;
  /** Handler run time, ms: a random value in [min, max). */
  handlerMs: [number, number];
  /** Stop and exit once nothing is pending or running. */
  drain?: boolean;
  /** Log a tick line every 200 ms (a liveness signal for the parent). */
  ticks?: boolean;
  /** Also run the poison handlers. */
  poison?: boolean;
  /** With `drain`: look for idleness only once this file exists (the producers are done). */
  goFile?: string;
}

/** How a producer child runs. */
export interface ProducerSpec {
  /** How many tasks. */
  count: number;
  /** Its keys' prefix (distinct per producer). */
  prefix: string;
  /** `maxRetries` of each task. */
  maxRetries: number;
  /** Pause between enqueues, ms. */
  delayMs: number;
  /** Task types to pick from at random. @default {["job"]} */
  types?: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The handlers, recording each run's start. */
function handlers(recorder: Recorder, spec: WorkerSpec) {
  const [min, max] = spec.handlerMs;
  type Ctx = { task: { id: number; attempts: number } };
  const run = (ctx: Ctx) => ({ id: ctx.task.id, attempt: ctx.task.attempts });
  const job = async (_payload: unknown, ctx: Ctx) => {
    recorder.log({ op: "run", type: "invoke", ...run(ctx) });
    await sleep(min + Math.random() * (max - min));
    recorder.log({ op: "run", type: "ok", ...run(ctx) });
    return { pid: process.pid, attempt: ctx.task.attempts };
  };
  // longer than a short lease: it lives on heartbeats
  const slow = async (_payload: unknown, ctx: Ctx) => {
    recorder.log({ op: "run", type: "invoke", ...run(ctx) });
    await sleep(1200);
    recorder.log({ op: "run", type: "ok", ...run(ctx) });
    return { pid: process.pid, attempt: ctx.task.attempts };
  };
  // synchronous work: a backlog of these must not starve the event loop
  const sync = (_payload: unknown, ctx: Ctx) => {
    recorder.log({ op: "run", type: "invoke", ...run(ctx) });
    const until = performance.now() + 2 + Math.random() * 3;
    while (performance.now() < until) {
      // busy
    }
    recorder.log({ op: "run", type: "ok", ...run(ctx) });
    return { pid: process.pid, attempt: ctx.task.attempts };
  };
  if (!spec.poison) return { job, slow, sync };
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  return {
    job,
    slow,
    sync,
    exit: () => process.exit(3),
    spin: () => {
      for (;;) {
        // a synchronous infinite loop: only a kill ends it
      }
    },
    hang: () => new Promise(() => {}),
    bigint: () => {
      throw 10n;
    },
    circular: () => {
      throw circular;
    },
    getter: () => {
      throw {
        get message() {
          throw new Error("getter throws");
        },
      };
    },
    badmessage: () => {
      const error = new Error("x");
      Object.defineProperty(error, "message", { value: { not: "a string" } });
      throw error;
    },
  };
}

/** Runs a recorded Worker on `queue` until drained (spec.drain) or killed. */
async function runWorker(
  queue: WorkerQueue,
  recorder: Recorder,
  spec: WorkerSpec,
  idle: () => Promise<boolean>,
): Promise<void> {
  const worker = new Worker(recordingQueue(queue, recorder), {
    concurrency: spec.concurrency,
    leaseMs: spec.leaseMs,
    pollIntervalMs: 50,
    workerId: `pid-${process.pid}`,
    handlers: handlers(recorder, spec),
    onError: (error, task) =>
      recorder.log({
        op: "error",
        type: "info",
        error: describe(error),
        kind: errorKind(error),
        ...(task ? { id: task.id, attempt: task.attempts } : {}),
      }),
  });
  if (spec.ticks) setInterval(() => recorder.log({ op: "tick", type: "info" }), 200);
  worker.start();
  for (;;) {
    await sleep(100);
    if (spec.drain && (!spec.goFile || existsSync(spec.goFile)) && await idle()) break;
  }
  await worker.stop({ timeoutMs: 2000 });
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "worker") {
  const [path, history, json] = args as [string, string, string];
  const spec = JSON.parse(json) as WorkerSpec;
  const queue = await TaskQueue.open(path);
  const recorder = new Recorder(history);
  await runWorker(queue, recorder, spec, async () => {
    try {
      const stats = await queue.getQueueStats();
      return stats.pending + stats.running === 0;
    } catch {
      return false;
    }
  });
  await queue.close();
  process.exit(0);
} else if (mode === "remote") {
  const [url, token, history, json] = args as [string, string, string, string];
  const spec = JSON.parse(json) as WorkerSpec;
  const client = new HttpQueueClient({ url, token, waitMs: 300 });
  await runWorker(client, new Recorder(history), spec, () => Promise.resolve(false));
} else if (mode === "producer") {
  const [path, history, json] = args as [string, string, string];
  const spec = JSON.parse(json) as ProducerSpec;
  const queue = await TaskQueue.open(path);
  const recorder = new Recorder(history);
  for (let i = 0; i < spec.count; i++) {
    const key = `${spec.prefix}-${i}`;
    await recorder.call(
      { op: "enqueue", key, name: key },
      () =>
        queue.enqueue({
          name: key,
          taskType: spec.types?.[Math.floor(Math.random() * spec.types.length)] ?? "job",
          payload: { key },
          maxRetries: spec.maxRetries,
        }),
      (id) => ({ id }),
    ).catch(() => {});
    if (spec.delayMs > 0) await sleep(spec.delayMs * Math.random() * 2);
  }
  await queue.close();
  process.exit(0);
} else if (mode === "locker") {
  const [path, ms, ready] = args as [string, string, string];
  const db = await openDb(path);
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec("BEGIN IMMEDIATE");
  writeFileSync(ready, "locked");
  await sleep(Number(ms));
  db.exec("COMMIT");
  db.close();
  process.exit(0);
} else if (mode === "server") {
  const [path, port, token] = args as [string, string, string];
  const { Hono } = await import("hono");
  const { createQueueApp } = await import("../hono.ts");
  const { serve } = await import("../src/http/serve.ts");
  const queue = await TaskQueue.open(path);
  const app = new Hono().route("/queue", createQueueApp(queue, { auth: { writeTokens: [token] } }));
  await serve(app.fetch, { port: Number(port), hostname: "127.0.0.1" });
  console.log("listening");
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
