/**
 * The workloads: what each measures, on which subjects, with how many jobs in each mode, what its
 * ratios are taken against; and {@linkcode runSubject}, which a child process calls to measure one
 * subject of one workload on a fresh file.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { PeerId } from "./_peers.ts";
import { PEER_GAPS, type PeerOp, runPeer } from "./_peer_subjects.ts";
import * as raw from "./_raw.ts";
import * as rawTable from "./_raw_schema.ts";
import { childCommand, type Db } from "./_runtime.ts";
import type { Measure } from "./_stats.ts";
import * as tl from "./_tasklite.ts";
import * as pg from "./_pg_subjects.ts";

/** The poll interval of the cross-process latency worker. */
export const CROSS_POLL_MS = 50;

/** One thing measured. */
export interface Subject {
  /** Its id within the workload. */
  id: string;
  /** Its name in the table. */
  label: string;
  /** The peer it is, if any (for n/a decisions and the "vs peer" columns). */
  peer?: PeerId;
  /** At most this many jobs per measurement (a subject whose cost grows with N). */
  maxN?: number;
  /** It runs on PostgreSQL (n/a when no server answers). */
  postgres?: boolean;
}

/** One workload. */
export interface Workload {
  /** Its id (`--only`). */
  id: string;
  /** Its name in the table. */
  title: string;
  /** Jobs (or samples) per measurement, by mode. */
  n: { quick: number; full: number };
  /** What it measures, in order. */
  subjects: Subject[];
  /** The subject id the "vs baseline" ratio divides by. */
  baseline?: string;
  /** The baseline's short name in the ratio cells. */
  ref?: string;
  /** The measure ids a child reports (default: the workload id). */
  measures?: { id: string; title: string }[];
  /** Only in full mode (or with `--scale`). */
  fullOnly?: boolean;
  /** Rounds when `--rounds` is not given (a long check rather than a rate). */
  rounds?: number;
  /** Rounds in `--quick` when `--rounds` is not given. */
  quickRounds?: number;
}

const tasklite: Subject = { id: "tasklite", label: "tasklite" };
const peer = (id: PeerId, label: string = id, maxN?: number): Subject => ({
  id,
  label,
  peer: id,
  ...(maxN ? { maxN } : {}),
});
/**
 * liteque 0.8's claim sorts every pending row of its queue (no index serves its ORDER BY), so its
 * rate falls as N grows (1,300/s at 5,000 tasks, 540/s at 20,000 on Bun): it runs at most 10,000.
 */
export const LITEQUE_MAX_N = 10_000;
const PEERS = [
  peer("plainjob"),
  peer("bunqueue"),
  peer("liteque", "liteque", LITEQUE_MAX_N),
  peer("bullmq", "BullMQ"),
];

const onPg = (id: string, label: string): Subject => ({ id, label, postgres: true });
const PG_PEERS = [peer("pg-boss"), peer("graphile-worker")];
const PG_ENQUEUERS = [onPg("tasklite", "tasklite on PostgreSQL"), ...PG_PEERS];

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [
  {
    id: "process",
    title: "process N no-op tasks, concurrency 8",
    n: { quick: 10_000, full: 100_000 },
    subjects: [
      { id: "raw", label: "raw SQL floor, 128 per tx" },
      tasklite,
      { id: "prefetch", label: `tasklite, prefetch ${tl.PREFETCH}` },
      ...PEERS,
    ],
    baseline: "raw",
    ref: "raw",
  },
  {
    id: "enqueue",
    title: "enqueue, one await at a time",
    n: { quick: 5_000, full: 50_000 },
    subjects: [
      { id: "raw", label: "raw INSERT, autocommit" },
      { id: "raw-table", label: "raw INSERT, tasklite's table" },
      tasklite,
      ...PEERS,
    ],
    baseline: "raw",
    ref: "raw",
  },
  {
    id: "enqueue-1000",
    title: "1,000 enqueues in flight",
    n: { quick: 5_000, full: 50_000 },
    subjects: [
      { id: "one", label: "tasklite, one at a time" },
      { id: "concurrent", label: "tasklite, Promise.all of 1,000" },
    ],
    baseline: "one",
    ref: "one at a time",
  },
  {
    id: "enqueue-many",
    title: "enqueueMany, 1,000 per call",
    n: { quick: 20_000, full: 100_000 },
    subjects: [
      { id: "raw", label: "raw INSERT, 1,000 per tx" },
      { id: "raw-table", label: "raw INSERT, tasklite's table" },
      tasklite,
      ...PEERS,
    ],
    baseline: "raw",
    ref: "raw",
  },
  {
    id: "manual",
    title: "dequeue + complete, one at a time",
    n: { quick: 2_000, full: 20_000 },
    subjects: [
      { id: "raw", label: "raw claim + complete" },
      { id: "raw-table", label: "raw claim + complete, tasklite's table" },
      tasklite,
      ...PEERS,
    ],
    baseline: "raw",
    ref: "raw",
  },
  {
    id: "manual-batch",
    title: "dequeueMany(128) + completeMany, one batch at a time",
    n: { quick: 10_000, full: 100_000 },
    subjects: [{ id: "raw", label: "raw SQL floor, 128 per tx" }, tasklite],
    baseline: "raw",
    ref: "raw",
  },
  {
    id: "latency",
    title: "latency: enqueue -> handler start, idle Worker, same process (poll 1 s)",
    n: { quick: 200, full: 1_000 },
    subjects: [tasklite],
  },
  {
    id: "latency-cross",
    title: `latency: the same, Worker in another process (poll ${CROSS_POLL_MS} ms)`,
    n: { quick: 200, full: 1_000 },
    subjects: [tasklite],
  },
  {
    id: "responsiveness",
    title: "timer lag (10 ms interval) while a Worker drains N sync handlers",
    n: { quick: 10_000, full: 100_000 },
    subjects: [tasklite],
  },
  {
    id: "pg-enqueue",
    title: "PostgreSQL: enqueue, one await at a time",
    n: { quick: 500, full: 10_000 },
    subjects: PG_ENQUEUERS,
    quickRounds: 1,
  },
  {
    id: "pg-enqueue-1000",
    title: "PostgreSQL: 1,000 enqueues in flight",
    n: { quick: 2_000, full: 20_000 },
    subjects: PG_ENQUEUERS,
    quickRounds: 1,
  },
  {
    id: "pg-process",
    title: "PostgreSQL: process N no-op tasks, concurrency 8 per worker process",
    n: { quick: 2_000, full: 40_000 },
    quickRounds: 1,
    subjects: [
      onPg("tasklite-1", "tasklite, 1 worker process"),
      onPg("tasklite-2", "tasklite, 2 worker processes"),
      onPg("tasklite-4", "tasklite, 4 worker processes"),
      peer("pg-boss", "pg-boss, 1 process"),
      peer("graphile-worker", "graphile-worker, 1 process"),
    ],
  },
  {
    id: "pg-latency",
    title: `PostgreSQL latency: enqueue -> handler start, worker in another process ` +
      `(poll ${pg.PG_POLL_MS / 1000} s)`,
    n: { quick: 100, full: 500 },
    subjects: PG_ENQUEUERS,
    quickRounds: 1,
  },
  {
    id: "scale",
    title: "scale: finished rows in the table",
    n: { quick: 10_000, full: 20_000 },
    subjects: [
      { id: "empty", label: "tasklite, empty table" },
      { id: "5m", label: "tasklite, 5M finished rows" },
    ],
    baseline: "empty",
    ref: "empty",
    measures: [
      { id: "scale-enqueue", title: "scale: enqueue one at a time" },
      { id: "scale-process", title: "scale: process, concurrency 8" },
      { id: "scale-stats", title: "scale: getQueueStats() ms" },
    ],
    fullOnly: true,
  },
  {
    id: "rss",
    title: "process N tasks: RSS at 10% -> at the end",
    n: { quick: 100_000, full: 1_000_000 },
    subjects: [tasklite],
    fullOnly: true,
    rounds: 1,
  },
  {
    id: "sync-full",
    title: "process, synchronous=FULL vs NORMAL",
    n: { quick: 10_000, full: 20_000 },
    subjects: [
      { id: "normal", label: "tasklite, synchronous=NORMAL" },
      { id: "full", label: "tasklite, synchronous=FULL" },
    ],
    baseline: "normal",
    ref: "NORMAL",
    fullOnly: true,
  },
];

/** The peer operation each peer-comparing workload maps to. */
const PEER_OP: Record<string, PeerOp> = {
  process: "process",
  enqueue: "enqueue",
  "enqueue-many": "enqueueMany",
  manual: "manual",
};

/** Why `subject` of `workload` cannot run whatever the runtime (a missing API), or `null`. */
export function subjectGap(workload: Workload, subject: Subject): string | null {
  if (!subject.peer) return null;
  return PEER_GAPS[subject.peer]?.[PEER_OP[workload.id]!] ?? null;
}

/** What a child is asked to measure. */
export interface SubjectRequest {
  /** The workload id. */
  workload: string;
  /** The subject id. */
  subject: string;
  /** Jobs or samples. */
  n: number;
  /** A fresh file (in a fresh folder) to work in; for `scale`/`5m`, the prebuilt file. */
  path: string;
}

/** What a child reports. */
export interface SubjectResult {
  /** Measures by id. */
  measures: Record<string, Measure>;
  /** How the subject ran. */
  note?: string;
}

/** Wraps one measure under the workload's id. */
function one(workload: string, measure: Measure, note?: string): SubjectResult {
  return { measures: { [workload]: measure }, ...(note ? { note } : {}) };
}

/** Measures `req.subject` of `req.workload` in this process. */
export async function runSubject(req: SubjectRequest): Promise<SubjectResult> {
  const { workload, subject, n, path } = req;
  const wanted = WORKLOADS.find((w) => w.id === workload);
  const who = wanted?.subjects.find((s) => s.id === subject);
  if (!wanted || !who) throw new Error(`unknown subject ${workload}/${subject}`);
  const gap = subjectGap(wanted, who);
  if (gap) throw new Error(`${workload}/${subject} is n/a: ${gap}`);
  if (workload.startsWith("pg-")) return one(workload, await runPg(workload, subject, n));
  if (who.peer) {
    const { measure, note } = await runPeer(who.peer, PEER_OP[workload]!, path, n);
    return one(workload, measure, note);
  }
  switch (`${workload}/${subject}`) {
    case "process/raw":
      return one(workload, await rawRate(path, n, (db) => raw.sqlFloor(db), true));
    case "process/tasklite":
      return one(workload, await tl.processTasks(path, n));
    case "process/prefetch":
      return one(workload, await tl.processTasks(path, n, "NORMAL", tl.PREFETCH));
    case "enqueue/raw":
      return one(
        workload,
        await rawRate(path, n, (db) => ({ ms: raw.insertSingle(db, n), count: n })),
      );
    case "enqueue/raw-table":
      return one(workload, await tableRate(path, n, (db) => rawTable.insertSingle(db, n)));
    case "enqueue-many/raw-table":
      return one(workload, await tableRate(path, n, (db) => rawTable.insertBatch(db, n)));
    case "manual/raw-table":
      return one(
        workload,
        await tableRate(path, n, (db) => {
          rawTable.insertBatch(db, n); // the pending rows, untimed
          const { ms, count } = rawTable.claimComplete(db);
          if (count !== n) throw new Error(`raw baseline handled ${count} of ${n}`);
          return ms;
        }),
      );
    case "enqueue/tasklite":
    case "enqueue-1000/one":
      return one(workload, await tl.enqueueOne(path, n));
    case "enqueue-1000/concurrent":
      return one(workload, await tl.enqueueConcurrent(path, n));
    case "enqueue-many/raw":
      return one(
        workload,
        await rawRate(path, n, (db) => ({ ms: raw.insertBatch(db, n), count: n })),
      );
    case "enqueue-many/tasklite":
      return one(workload, await tl.enqueueMany(path, n));
    case "manual/raw":
      return one(workload, await rawRate(path, n, (db) => raw.claimComplete(db), true));
    case "manual/tasklite":
      return one(workload, await tl.manualLoop(path, n));
    case "manual-batch/raw":
      return one(workload, await rawRate(path, n, (db) => raw.sqlFloor(db), true));
    case "manual-batch/tasklite":
      return one(workload, await tl.manualBatches(path, n));
    case "latency/tasklite":
      return one(workload, await tl.latencyInProcess(path, n));
    case "latency-cross/tasklite":
      return one(workload, await latencyCross(path, n));
    case "responsiveness/tasklite":
      return one(workload, await tl.responsiveness(path, n));
    case "scale/empty":
    case "scale/5m":
      return { measures: await tl.scaleSequence(path, n) };
    case "rss/tasklite":
      return one(workload, await tl.processWatchingRss(path, n));
    case "sync-full/normal":
      return one(workload, await tl.processTasks(path, n, "NORMAL"));
    case "sync-full/full":
      return one(workload, await tl.processTasks(path, n, "FULL"));
  }
  throw new Error(`no runner for ${workload}/${subject}`);
}

/** One PostgreSQL measurement: the subject id is the system, `-k` its worker processes. */
function runPg(workload: string, subject: string, n: number): Promise<Measure> {
  const [name, count] = subject.split(/-(?=\d+$)/);
  const system = name as pg.PgSystem;
  switch (workload) {
    case "pg-enqueue":
      return pg.enqueueOne(system, n);
    case "pg-enqueue-1000":
      return pg.enqueueConcurrent(system, n);
    case "pg-process":
      return pg.processWith(system, n, Number(count ?? 1));
    case "pg-latency":
      return pg.latencyCross(system, n);
  }
  throw new Error(`no runner for ${workload}/${subject}`);
}

/** Times a raw baseline on tasklite's own table: `fn` returns the timed ms for `n` jobs. */
async function tableRate(path: string, n: number, fn: (db: Db) => number): Promise<Measure> {
  const db = await rawTable.openTaskliteTable(path);
  try {
    return { jobsPerSec: (n / fn(db)) * 1000 };
  } finally {
    db.close();
  }
}

/** Times a raw baseline; `seeded` ones get `n` pending rows first (untimed). */
async function rawRate(
  path: string,
  n: number,
  fn: (db: Awaited<ReturnType<typeof raw.openRaw>>) => { ms: number; count: number },
  seeded = false,
): Promise<Measure> {
  const db = await raw.openRaw(path);
  try {
    if (seeded) raw.seed(db, n);
    const { ms, count } = fn(db);
    if (count !== n) throw new Error(`raw baseline handled ${count} of ${n}`);
    return { jobsPerSec: (count / ms) * 1000 };
  } finally {
    db.close();
  }
}

/** Cross-process latency: a worker child on the same file, this process enqueues. */
async function latencyCross(path: string, samples: number): Promise<Measure> {
  const script = fileURLToPath(new URL("./_child.ts", import.meta.url));
  // the schema first, so that the two processes do not race to create it
  await tl.createSchema(path);
  const [cmd, args] = childCommand(script, ["latency-worker", path, String(CROSS_POLL_MS)]);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const received: number[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line === "ready") ready();
    else if (line.startsWith("latency ")) received.push(Number(line.slice(8)));
  });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  try {
    await Promise.race([isReady, exited.then(() => Promise.reject(new Error("worker exited")))]);
    return await tl.latencyEnqueuer(path, samples, () => received);
  } finally {
    child.stdin!.end("stop\n");
    await exited;
  }
}
