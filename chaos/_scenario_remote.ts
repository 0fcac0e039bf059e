/**
 * Scenarios 9-10. Remote workers (a Worker over `HttpQueueClient`, in Deno and Bun processes)
 * while the server process is SIGKILLed and restarted on the same port: nothing lost, no run
 * while another held a valid lease, no stale completion accepted. And (full mode only) a million
 * tasks enqueued and drained in one process with its RSS sampled: it must stay flat.
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { TaskQueue, Worker } from "../mod.ts";
import type { WorkerSpec } from "./_child.ts";
import { zeroCounts } from "./_history.ts";
import {
  drain,
  enqueueRecorded,
  firstProblems,
  prepare,
  type Scenario,
  type ScenarioResult,
  verdict,
} from "./_scenario.ts";
import { type Child, errorLine, freePort, randomInt, sleep, startChild } from "./_spawn.ts";

/** Starts the server child and waits until it listens (10 s at most). */
async function startServer(
  runtime: Child["runtime"],
  path: string,
  port: number,
  token: string,
): Promise<Child> {
  const child = startChild(runtime, "server", [path, String(port), token]);
  const deadline = Date.now() + 10_000;
  while (!child.output().includes("listening")) {
    if (!child.alive() || Date.now() > deadline) {
      throw new Error(`the server did not start: ${errorLine(child)}`);
    }
    await sleep(20);
  }
  return child;
}

const TOKEN = "chaos-token";

/** 9. Remote workers with the server killed and restarted. */
const remote: Scenario = {
  id: "remote",
  title: "9. remote workers, server killed",
  async run(ctx): Promise<ScenarioResult> {
    const { path, history } = await prepare(ctx);
    const n = ctx.quick ? 300 : 3000;
    await enqueueRecorded(
      path,
      history,
      Array.from({ length: n }, (_, i) => ({ name: `remote ${i}`, taskType: "job" })),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/queue`;
    const runtime = ctx.runtimes[0]!;
    let server = await startServer(runtime, path, port, TOKEN);
    const spec: WorkerSpec = { concurrency: 4, leaseMs: 1000, handlerMs: [5, 40] };
    const start = (i: number) =>
      startChild(ctx.runtimes[i % ctx.runtimes.length]!, "remote", [
        url,
        TOKEN,
        join(history, `remote-${i}-${Date.now()}.jsonl`),
        JSON.stringify(spec),
      ]);
    const workers = [0, 1].map(start);
    let kills = 0;
    const crashes: string[] = [];
    const queue = await TaskQueue.open(path);
    const deadline = Date.now() + (ctx.quick ? 8_000 : 40_000);
    try {
      while (Date.now() < deadline) {
        await sleep(randomInt(400, 1500));
        server.kill();
        kills++;
        await server.exited;
        await sleep(randomInt(100, 800));
        server = await startServer(runtime, path, port, TOKEN);
        for (const [i, w] of workers.entries()) {
          if (!w.alive()) {
            crashes.push(errorLine(w));
            workers[i] = start(i);
          }
        }
      }
      // Let the remote workers finish what is left, with the server up.
      const settleBy = Date.now() + 30_000;
      while (Date.now() < settleBy) {
        const stats = await queue.getQueueStats();
        if (stats.pending + stats.running === 0) break;
        await sleep(200);
      }
    } finally {
      for (const w of workers) w.kill();
      server.kill();
      await Promise.all([...workers, server].map((c) => c.exited));
      await queue.close();
    }
    const drained = await drain(runtime, path, history, 60_000);
    const v = await verdict(path, history);
    const violations = [
      ...(crashes.length ? [`${crashes.length} remote worker crashes (${crashes[0]})`] : []),
      ...(drained.ok ? [] : ["the clean drain did not finish"]),
    ];
    return {
      runtimes: ctx.runtimes.join("+"),
      counts: v.counts,
      integrity: v.integrity,
      notes: [`${n} tasks, ${kills} server kills`, ...firstProblems(v.problems)],
      violations,
    };
  },
};

/** 10. A million tasks through one process, RSS sampled. */
const million: Scenario = {
  id: "million",
  title: "10. 1,000,000 tasks, RSS",
  fullOnly: true,
  async run(ctx): Promise<ScenarioResult> {
    const path = join(ctx.dir, "million.db");
    const queue = await TaskQueue.open(path);
    const total = 1_000_000;
    const samples: number[] = [];
    const rss = () => process.memoryUsage().rss / 1024 / 1024;
    const sampler = setInterval(() => samples.push(rss()), 1000);
    const counts = zeroCounts();
    let completed = 0;
    try {
      const chunk = 10_000;
      for (let i = 0; i < total; i += chunk) {
        await queue.enqueueMany(
          Array.from({ length: chunk }, (_, j) => ({
            name: `t${i + j}`,
            taskType: "job",
            payload: { n: i + j },
          })),
        );
      }
      const afterEnqueue = samples.length;
      const worker = new Worker(queue, {
        concurrency: 64,
        pollIntervalMs: 10,
        handlers: { job: () => ({ ok: 1 }) },
      });
      worker.start();
      for (;;) {
        await sleep(500);
        const stats = await queue.getQueueStats();
        completed = stats.completed;
        if (stats.pending + stats.running === 0) break;
      }
      await worker.stop();
      counts.operations = total * 2;
      counts.lost = total - completed;
      const drainSamples = samples.slice(afterEnqueue);
      const warm = drainSamples.slice(0, Math.max(1, drainSamples.length >> 3));
      const base = Math.max(...warm);
      const peak = Math.max(...samples);
      const end = drainSamples.at(-1) ?? rss();
      const grew = end / base;
      return {
        runtimes: ctx.runtimes[0]!,
        counts,
        integrity: 0,
        notes: [
          `RSS MB: after enqueue ${samples[afterEnqueue - 1]?.toFixed(0)}, early drain ` +
          `${base.toFixed(0)}, end ${end.toFixed(0)}, peak ${peak.toFixed(0)} ` +
          `(${samples.length} samples)`,
        ],
        violations: grew > 1.5 ? [`RSS grew ${grew.toFixed(2)}x during the drain`] : [],
      };
    } finally {
      clearInterval(sampler);
      await queue.close();
    }
  },
};

/** The remote and scale scenarios, in the suite's order. */
export const REMOTE_SCENARIOS: readonly Scenario[] = [remote, million];
