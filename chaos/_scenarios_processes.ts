/**
 * Scenarios 1-4: processes that die or misbehave. SIGKILLed workers (Deno and Bun, short leases)
 * while a producer enqueues; SIGKILLed producers; three workers x concurrency 4 and a producer on
 * one file; poison handlers (exit, a sync loop, never resolving, unserialisable throws).
 *
 * @module
 */

import { join } from "node:path";
import { type EnqueueOptions, TaskQueue } from "../mod.ts";
import type { ProducerSpec, WorkerSpec } from "./_child.ts";
import { readHistories } from "./_db.ts";
import {
  drain,
  enqueueRecorded,
  firstProblems,
  prepare,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  sizeOf,
  touch,
  verdict,
} from "./_scenario.ts";
import { type Child, errorLine, randomInt, sleep, startChild, waitChild } from "./_spawn.ts";

/** Starts a producer child. */
function producer(ctx: ScenarioContext, path: string, history: string, spec: ProducerSpec): Child {
  const runtime = ctx.runtimes[0]!;
  return startChild(runtime, "producer", [
    path,
    join(history, `producer-${spec.prefix}.jsonl`),
    JSON.stringify(spec),
  ]);
}

/** Starts a worker child. */
function worker(ctx: ScenarioContext, i: number, history: string, path: string, spec: WorkerSpec) {
  const runtime = ctx.runtimes[i % ctx.runtimes.length]!;
  return startChild(runtime, "worker", [
    path,
    join(history, `worker-${i}-${Date.now()}.jsonl`),
    JSON.stringify(spec),
  ]);
}

/** A note when a child that should have exited 0 did not. */
function exitNote(what: string, exit: { code: number | null }, child: Child): string[] {
  if (exit.code === 0) return [];
  return [`${what} exited ${exit.code}: ${errorLine(child)}`];
}

/** 1. SIGKILL of workers at random moments while a producer enqueues; then a clean drain. */
const killWorkers: Scenario = {
  id: "kill-workers",
  title: "1. SIGKILL workers",
  async run(ctx): Promise<ScenarioResult> {
    const { path, history } = await prepare(ctx);
    const count = ctx.quick ? 300 : 3000;
    const seconds = ctx.quick ? 6 : 40;
    const spec: WorkerSpec = { concurrency: 2, leaseMs: 400, handlerMs: [10, 150] };
    const feed = producer(ctx, path, history, {
      count,
      prefix: "p",
      maxRetries: 100,
      delayMs: (seconds * 1000 * 0.6) / count,
      types: ["job", "job", "job", "slow", "sync", "sync"],
    });
    let kills = 0;
    const until = Date.now() + seconds * 1000;
    await Promise.all(ctx.runtimes.map(async (_runtime, slot) => {
      for (let round = 0; Date.now() < until; round++) {
        const child = worker(ctx, slot + round * ctx.runtimes.length, history, path, spec);
        await sleep(randomInt(300, 1500));
        child.kill();
        kills++;
        await child.exited;
      }
    }));
    await waitChild(feed, 60_000);
    const fed = await feed.exited;
    const drained = await drain(ctx.runtimes[0]!, path, history, 90_000);
    const v = await verdict(path, history);
    return {
      runtimes: ctx.runtimes.join("+"),
      counts: v.counts,
      integrity: v.integrity,
      notes: [
        `${count} tasks (async, sync, 1.2 s async on heartbeats), ${kills} kills, lease 400 ms`,
        ...(drained.ok ? [] : ["drain timed out"]),
        ...exitNote("producer", fed, feed),
        ...firstProblems(v.problems),
      ],
      violations: drained.ok ? [] : ["the clean drain did not finish"],
    };
  },
};

/** 2. SIGKILL of producers: every acknowledged enqueue must exist at the end. */
const killProducers: Scenario = {
  id: "kill-producers",
  title: "2. SIGKILL producers",
  async run(ctx): Promise<ScenarioResult> {
    const { path, history } = await prepare(ctx);
    const rounds = ctx.quick ? 3 : 10;
    let kills = 0;
    for (let round = 0; round < rounds; round++) {
      const children = ctx.runtimes.map((runtime, i) =>
        startChild(runtime, "producer", [
          path,
          join(history, `producer-${round}-${i}.jsonl`),
          JSON.stringify({ count: 100_000, prefix: `r${round}p${i}`, maxRetries: 0, delayMs: 0 }),
        ])
      );
      await sleep(randomInt(600, 2000));
      for (const child of children) {
        child.kill();
        kills++;
        await child.exited;
      }
    }
    const v = await verdict(path, history, {
      finalStatuses: ["pending"],
    });
    const acked = readHistories(history).filter((e) => e.op === "enqueue" && e.type === "ok");
    return {
      runtimes: ctx.runtimes.join("+"),
      counts: v.counts,
      integrity: v.integrity,
      notes: [
        `${kills} kills, ${acked.length} acked, ${v.counts.unknown} in flight at a kill`,
        ...firstProblems(v.problems),
      ],
      violations: [],
    };
  },
};

/** 3. Three worker processes x concurrency 4 and a producer on one file. */
const contention: Scenario = {
  id: "contention",
  title: "3. 3 workers x 4 + producer",
  async run(ctx): Promise<ScenarioResult> {
    const { path, history } = await prepare(ctx);
    const count = ctx.quick ? 600 : 6000;
    const go = join(ctx.dir, "producers-done");
    const spec: WorkerSpec = {
      concurrency: 4,
      leaseMs: 2000,
      handlerMs: [2, 30],
      drain: true,
      goFile: go,
    };
    const workers = [0, 1, 2].map((i) => worker(ctx, i, history, path, spec));
    const feed = producer(ctx, path, history, {
      count,
      prefix: "p",
      maxRetries: 3,
      delayMs: 2,
      types: ["job", "sync"],
    });
    await waitChild(feed, 120_000);
    touch(go);
    const done = await Promise.all(workers.map((w) => waitChild(w, 120_000)));
    const v = await verdict(path, history);
    return {
      runtimes: workers.map((w) => w.runtime).join("+"),
      counts: v.counts,
      integrity: v.integrity,
      notes: [`${count} tasks`, ...firstProblems(v.problems)],
      violations: done.every(Boolean) ? [] : ["a worker did not finish"],
      alsoZero: ["busy"],
    };
  },
};

/** The poison task types and how many of each. */
const POISON = ["exit", "spin", "hang", "bigint", "circular", "getter", "badmessage"] as const;

/** 4. Poison handlers: the others complete, the poison ones end failed after their retries. */
const poison: Scenario = {
  id: "poison",
  title: "4. poison handlers",
  async run(ctx): Promise<ScenarioResult> {
    const { path, history } = await prepare(ctx);
    const jobs = ctx.quick ? 60 : 400;
    const tasks: EnqueueOptions[] = [];
    for (let i = 0; i < jobs; i++) {
      tasks.push({ name: `job ${i}`, taskType: "job", maxRetries: 20 });
    }
    for (const type of POISON) {
      for (let i = 0; i < 2; i++) {
        tasks.push({
          name: `${type} ${i}`,
          taskType: type,
          maxRetries: 1,
          ...(type === "hang" ? { timeoutMs: 500 } : {}),
        });
      }
    }
    tasks.sort(() => Math.random() - 0.5);
    const ids = await enqueueRecorded(path, history, tasks);
    const typeOf = new Map(ids.map((id, i) => [id, tasks[i]!.taskType]));
    const spec: WorkerSpec = {
      concurrency: 2,
      leaseMs: 500,
      handlerMs: [5, 30],
      poison: true,
      ticks: true,
    };
    const queue = await TaskQueue.open(path);
    const slots: { child: Child; file: string; size: number; seen: number }[] = [];
    const start = (i: number) => {
      const file = join(history, `poison-${i}-${Date.now()}.jsonl`);
      const child = startChild(ctx.runtimes[i % ctx.runtimes.length]!, "worker", [
        path,
        file,
        JSON.stringify(spec),
      ]);
      return { child, file, size: 0, seen: Date.now() };
    };
    for (let i = 0; i < 2; i++) slots.push(start(i));
    let exits = 0;
    let stuckKills = 0;
    const crashes: string[] = [];
    const deadline = Date.now() + (ctx.quick ? 40_000 : 120_000);
    try {
      while (Date.now() < deadline) {
        await sleep(250);
        const stats = await queue.getQueueStats().catch(() => null);
        if (stats && stats.pending + stats.running === 0) break;
        for (const [i, slot] of slots.entries()) {
          if (!slot.child.alive()) {
            exits++;
            const { code } = await slot.child.exited;
            if (code !== 3) {
              crashes.push(`exit ${code}: ${errorLine(slot.child)}`);
            }
            slots[i] = start(i);
            continue;
          }
          const size = sizeOf(slot.file);
          if (size !== slot.size) {
            slot.size = size;
            slot.seen = Date.now();
          } else if (Date.now() - slot.seen > 1500 && size > 0) {
            slot.child.kill(); // stuck (a synchronous loop): the parent's hard limit
            stuckKills++;
            await slot.child.exited;
            slots[i] = start(i);
          }
        }
      }
    } finally {
      for (const slot of slots) slot.child.kill();
      await Promise.all(slots.map((slot) => slot.child.exited));
      await queue.close();
    }
    const isJob = (id: number) => typeOf.get(id) === "job";
    const v = await verdict(path, history, { mustFinish: isJob });
    const final = await TaskQueue.open(path);
    const violations: string[] = [];
    const stuck: string[] = [];
    try {
      for (const [id, type] of typeOf) {
        if (type === "job") continue;
        const task = await final.getTask(id);
        if (task?.status !== "failed") stuck.push(`${type}:${task?.status}`);
      }
    } finally {
      await final.close();
    }
    if (crashes.length) violations.push(`${crashes.length} worker processes crashed`);
    if (stuck.length) {
      violations.push(`${stuck.length} poison tasks not failed (${stuck.join(",")})`);
    }
    return {
      runtimes: ctx.runtimes.join("+"),
      counts: v.counts,
      integrity: v.integrity,
      notes: [
        `${jobs} jobs + ${POISON.length * 2} poison (hang with timeoutMs 500; one without a ` +
        `timeout is left out: it would hold its slot forever)`,
        `${exits} worker exits (${exits - crashes.length} by the exit handler), ` +
        `${stuckKills} stuck workers killed`,
        ...[...new Set(crashes)].slice(0, 2).map((c) => `worker crashed: ${c}`),
        ...violations,
        ...firstProblems(v.problems),
      ],
      violations,
    };
  },
};

/** The process scenarios, in the suite's order. */
export const PROCESS_SCENARIOS: readonly Scenario[] = [
  killWorkers,
  killProducers,
  contention,
  poison,
];
