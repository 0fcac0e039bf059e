/**
 * Scenarios 6-7: storage under pressure. A full disk (`PRAGMA max_page_count` on the queue's own
 * connection, and a small tmpfs when this process may mount one): errors typed, nothing
 * acknowledged lost, the queue works again once space frees, without a restart. A write lock
 * held 2 s and 10 s by another process: user-visible BUSY errors and event-loop stalls in the
 * queue's process.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { sqliteConstructor } from "../bench/_runtime.ts";
import { type SqliteDatabase, TaskQueue, Worker } from "../mod.ts";
import { addCounts, errorKind } from "./_history.ts";
import { Recorder, recordingQueue } from "./_recording.ts";
import {
  firstProblems,
  prepare,
  type Scenario,
  type ScenarioResult,
  verdict,
} from "./_scenario.ts";
import { sleep, startChild, waitChild } from "./_spawn.ts";

/** Drains `queue` in this process with a recorded worker. */
async function drainHere(queue: TaskQueue, recorder: Recorder): Promise<void> {
  const worker = new Worker(recordingQueue(queue, recorder), {
    concurrency: 8,
    handlers: { job: (_p, ctx) => ({ attempt: ctx.task.attempts }) },
  });
  for (let i = 0; i < 10_000 && await worker.tick() > 0; i++) {
    // until nothing is due
  }
}

/** What filling a queue found. */
interface Fill {
  errors: Map<string, number>;
  untyped: number;
  recovered: boolean;
}

/**
 * Enqueues 2 KB tasks until 20 in a row fail, frees space with `free`, then checks that enqueue
 * works again.
 */
async function fillAndFree(
  queue: TaskQueue,
  recorder: Recorder,
  free: () => void,
): Promise<Fill> {
  const fill: Fill = { errors: new Map(), untyped: 0, recovered: false };
  const blob = "x".repeat(2048);
  let failures = 0;
  for (let i = 0; i < 20_000 && failures < 20; i++) {
    try {
      await recorder.call(
        { op: "enqueue", key: `fill-${i}`, name: `fill ${i}` },
        () => queue.enqueue({ name: `fill ${i}`, taskType: "job", payload: { blob } }),
        (id) => ({ id }),
      );
      failures = 0;
    } catch (error) {
      failures++;
      const e = error as { name?: string; code?: string };
      const what = `${e?.name}${e?.code ? `(${e.code})` : ""}`;
      fill.errors.set(what, (fill.errors.get(what) ?? 0) + 1);
      if (!(e?.name === "StorageError" && e.code === "full")) fill.untyped++;
    }
  }
  free();
  for (let i = 0; i < 5; i++) {
    try {
      await recorder.call(
        { op: "enqueue", key: `after-${i}`, name: `after ${i}` },
        () => queue.enqueue({ name: `after ${i}`, taskType: "job" }),
        (id) => ({ id }),
      );
      fill.recovered = true;
    } catch {
      fill.recovered = false;
    }
  }
  return fill;
}

function describeFill(label: string, fill: Fill): string {
  const errors = [...fill.errors].map(([what, n]) => `${what} x${n}`).join(", ");
  return `${label}: ${errors || "no error"}${fill.recovered ? ", works after freeing" : ""}`;
}

/** 6. Disk full. */
const diskFull: Scenario = {
  id: "disk-full",
  title: "6. disk full",
  async run(ctx): Promise<ScenarioResult> {
    const notes: string[] = [];
    const violations: string[] = [];
    const { path, history } = await prepare(ctx);
    const recorder = new Recorder(join(history, "parent.jsonl"));
    // a) max_page_count on the queue's own connection
    const Database = await sqliteConstructor();
    const db = new Database(path) as { exec(sql: string): void; close(): void };
    const queue = await TaskQueue.open({ database: db as unknown as SqliteDatabase });
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const count = (db as unknown as { prepare(s: string): { get(): Record<string, unknown> } })
      .prepare("PRAGMA page_count").get();
    const limit = Number(Object.values(count)[0]) + 40;
    db.exec(`PRAGMA max_page_count = ${limit}`);
    const fill = await fillAndFree(
      queue,
      recorder,
      () => db.exec("PRAGMA max_page_count = 1000000000"),
    );
    notes.push(describeFill("max_page_count", fill));
    if (fill.untyped) {
      violations.push(`max_page_count: ${fill.untyped} errors not StorageError(full)`);
    }
    if (!fill.recovered) violations.push("max_page_count: enqueue still fails after raising it");
    await drainHere(queue, recorder);
    await queue.close();
    db.close();
    // b) a 1 MB tmpfs, where mount works
    const mnt = join(ctx.dir, "tmpfs");
    mkdirSync(mnt);
    let mounted = false;
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], { stdio: "ignore" });
      mounted = true;
    } catch {
      notes.push("tmpfs: skipped (mount -t tmpfs failed: not root, or no mount here)");
    }
    let tmpfsPath: string | null = null;
    const tmpfsHistory = join(ctx.dir, "history-tmpfs");
    if (mounted) {
      try {
        mkdirSync(tmpfsHistory);
        tmpfsPath = join(mnt, "queue.db");
        const q = await TaskQueue.open(tmpfsPath);
        const recorder = new Recorder(join(tmpfsHistory, "parent.jsonl"));
        const filler = join(mnt, "filler");
        writeFileSync(filler, Buffer.alloc(600 * 1024));
        const full = await fillAndFree(q, recorder, () => rmSync(filler));
        notes.push(describeFill("tmpfs 1 MB", full));
        if (full.untyped) violations.push(`tmpfs: ${full.untyped} errors not StorageError(full)`);
        if (!full.recovered) violations.push("tmpfs: enqueue still fails after freeing space");
        await drainHere(q, recorder);
        await q.close();
      } catch (error) {
        violations.push(`tmpfs: ${errorKind(error)}: ${String((error as Error)?.message)}`);
      }
    }
    // Each file against its own history: every acknowledged enqueue completed.
    let result = await verdict(path, history);
    if (tmpfsPath && existsSync(tmpfsPath)) {
      const other = await verdict(tmpfsPath, tmpfsHistory);
      result = {
        counts: addCounts(result.counts, other.counts),
        integrity: result.integrity + other.integrity,
        problems: [...result.problems, ...other.problems],
      };
    }
    if (mounted) {
      try {
        execFileSync("umount", [mnt], { stdio: "ignore" });
      } catch {
        // EBUSY: a descriptor of the closed queue's files is still open in this process
        notes.push("tmpfs: umount EBUSY (a file still open), detached lazily");
        execFileSync("umount", ["-l", mnt], { stdio: "ignore" });
      }
    }
    return {
      runtimes: ctx.runtimes[0]!,
      counts: result.counts,
      integrity: result.integrity,
      notes: [...notes, ...firstProblems(result.problems)],
      violations,
    };
  },
};

/** 7. A write lock held by another process for 2 s and for 10 s. */
const lock: Scenario = {
  id: "lock",
  title: "7. lock held 2 s / 10 s",
  async run(ctx): Promise<ScenarioResult> {
    const { path, history } = await prepare(ctx);
    const recorder = new Recorder(join(history, "parent.jsonl"));
    const queue = await TaskQueue.open(path);
    const worker = new Worker(recordingQueue(queue, recorder), {
      concurrency: 4,
      leaseMs: 3000,
      pollIntervalMs: 50,
      handlers: {
        job: async (_p, ctx) => {
          await sleep(5);
          return { attempt: ctx.task.attempts };
        },
      },
      onError: (error) => recorder.log({ op: "error", type: "info", kind: errorKind(error) }),
    });
    let last = performance.now();
    let stalls = 0;
    let worst = 0;
    const monitor = setInterval(() => {
      const now = performance.now();
      const late = now - last - 20;
      worst = Math.max(worst, late);
      if (late > 500) stalls++;
      last = now;
    }, 20);
    let producing = true;
    let i = 0;
    const producer = (async () => {
      while (producing) {
        const name = `p ${i++}`;
        await recorder.call(
          { op: "enqueue", key: name, name },
          () => queue.enqueue({ name, taskType: "job" }),
          (id) => ({ id }),
        ).catch(() => {});
        await sleep(20);
      }
    })();
    worker.start();
    const holds = [2000, 10_000];
    try {
      for (const ms of holds) {
        await sleep(500);
        const ready = join(ctx.dir, `locked-${ms}`);
        const child = startChild(ctx.runtimes[0]!, "locker", [path, String(ms), ready]);
        while (!existsSync(ready) && child.alive()) await sleep(10);
        await waitChild(child, ms + 30_000);
        await sleep(1000);
      }
    } finally {
      producing = false;
      await producer;
      clearInterval(monitor);
      await worker.stop({ timeoutMs: 5000 });
    }
    await drainHere(queue, recorder);
    await queue.close();
    const v = await verdict(path, history);
    return {
      runtimes: ctx.runtimes[0]!,
      counts: v.counts,
      integrity: v.integrity,
      notes: [
        `locks of ${holds.map((ms) => ms / 1000).join(" s and ")} s, busy timeout 5 s`,
        `${stalls} event-loop stalls > 500 ms, worst ${(worst / 1000).toFixed(1)} s`,
        ...firstProblems(v.problems),
      ],
      violations: [],
    };
  },
};

/** The storage scenarios, in the suite's order. */
export const STORAGE_SCENARIOS: readonly Scenario[] = [diskFull, lock];
