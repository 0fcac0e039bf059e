/**
 * The peers' side of the workloads, each through the peer's own public API: plainjob
 * (`defineQueue`, `defineWorker`), liteque (`SqliteQueue`, `Runner`), bunqueue (embedded `Queue`,
 * `Worker`) and BullMQ (`Queue`, `Worker` on Redis). Peers are imported from the scratch folder at
 * run time; their types are not checked here.
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any -- the peers are untyped here: they load at run time

import process from "node:process";
import { importPeer, importPeerFile, type PeerId, REDIS } from "./_peers.ts";
import { BINDING, openDb, RUNTIME } from "./_runtime.ts";
import { ShimDatabase } from "./_sqlite_shim.ts";
import { type Measure, rate } from "./_stats.ts";

/** The operations a peer may support. */
export type PeerOp = "process" | "enqueue" | "enqueueMany" | "manual";

/** Why a peer lacks an operation (absent: it has it). */
export const PEER_GAPS: Partial<Record<PeerId, Partial<Record<PeerOp, string>>>> = {
  liteque: { enqueueMany: "no bulk add" },
  bunqueue: { manual: "no public claim call" },
};

/** A measurement with how the peer ran. */
export interface PeerResult {
  /** The measurement. */
  measure: Measure;
  /** How it ran. */
  note?: string;
}

const silent = { debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Resolves when `count()` reaches `n`, checked on every completion via `tick`. */
function counter(n: number): { tick: () => void; done: Promise<void> } {
  let seen = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    tick: () => {
      if (++seen === n) resolve();
    },
    done,
  };
}

// ---------------------------------------------------------------- plainjob

async function plainjobQueue(path: string): Promise<{ pj: any; queue: any; note: string }> {
  const pj = await importPeer<any>("plainjob");
  let connection;
  let note;
  if (RUNTIME === "bun") {
    const { Database } = await import(BINDING);
    connection = pj.bun(new Database(path, { strict: true }));
    note = "bun:sqlite";
  } else {
    connection = pj.better(new ShimDatabase(await openDb(path), path));
    note = "node:sqlite via better-sqlite3 adapter";
  }
  return { pj, queue: pj.defineQueue({ connection, logger: silent }), note };
}

async function plainjob(op: PeerOp, path: string, n: number): Promise<PeerResult> {
  const { pj, queue, note } = await plainjobQueue(path);
  const payloads = (from: number, size: number) =>
    Array.from({ length: size }, (_, j) => ({ i: from + j }));
  try {
    if (op === "enqueue") {
      const start = performance.now();
      for (let i = 0; i < n; i++) queue.add("bench", { i });
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    const start = performance.now();
    for (let i = 0; i < n; i += 1000) queue.addMany("bench", payloads(i, Math.min(1000, n - i)));
    if (op === "enqueueMany") {
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    if (op === "manual") {
      let count = 0;
      const t0 = performance.now();
      for (let job = queue.getAndMarkJobAsProcessing("bench"); job;) {
        queue.markJobAsDone(job.id);
        count++;
        job = queue.getAndMarkJobAsProcessing("bench");
      }
      if (count !== n) throw new Error(`plainjob processed ${count} of ${n}`);
      return { measure: { jobsPerSec: rate(n, performance.now() - t0) }, note };
    }
    const { tick, done } = counter(n);
    const workers = Array.from(
      { length: 8 },
      () => pj.defineWorker("bench", async () => {}, { queue, logger: silent, onCompleted: tick }),
    );
    const t0 = performance.now();
    const loops = workers.map((w: any) => w.start());
    await done;
    const ms = performance.now() - t0;
    await Promise.all(workers.map((w: any) => w.stop()));
    await Promise.all(loops);
    return { measure: { jobsPerSec: rate(n, ms) }, note: `${note}, 8 workers` };
  } finally {
    queue.close();
  }
}

// ---------------------------------------------------------------- liteque

async function litequeQueue(path: string): Promise<any> {
  const lq = await importPeer<any>("liteque");
  const { drizzle } = await importPeerFile<any>(
    "drizzle-orm",
    "better-sqlite3/index.js",
    "liteque",
  );
  const db = new ShimDatabase(await openDb(path), path);
  // what liteque's buildDBClient sets, plus better-sqlite3's default 5 s busy timeout
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("cache_size = -65536");
  db.pragma("foreign_keys = ON");
  db.pragma("temp_store = MEMORY");
  const client = drizzle(db);
  lq.migrateDB(client);
  const queue = new lq.SqliteQueue("bench", client, {
    defaultJobArgs: { numRetries: 0 },
    keepFailedJobs: false,
  });
  return { lq, db, queue };
}

async function liteque(op: PeerOp, path: string, n: number): Promise<PeerResult> {
  const { lq, db, queue } = await litequeQueue(path);
  const note = `${BINDING} via better-sqlite3 adapter`;
  try {
    if (op === "enqueue") {
      const start = performance.now();
      for (let i = 0; i < n; i++) await queue.enqueue({ i });
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    // untimed setup: no bulk add, so 1,000 enqueues per transaction
    for (let i = 0; i < n; i += 1000) {
      db.exec("BEGIN IMMEDIATE");
      for (let j = i; j < Math.min(n, i + 1000); j++) await queue.enqueue({ i: j });
      db.exec("COMMIT");
    }
    if (op === "manual") {
      let count = 0;
      const start = performance.now();
      for (;;) {
        const job = await queue.attemptDequeue({ timeoutSecs: 30 });
        if (!job) break;
        await queue.finalize(job.id, job.allocationId, "completed");
        count++;
      }
      if (count !== n) throw new Error(`liteque processed ${count} of ${n}`);
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    let count = 0;
    const runner = new lq.Runner(queue, { run: () => Promise.resolve(count++) }, {
      concurrency: 8,
      pollIntervalMs: 10,
      timeoutSecs: 30,
    });
    const start = performance.now();
    await runner.runUntilEmpty();
    const ms = performance.now() - start;
    if (count !== n) throw new Error(`liteque processed ${count} of ${n}`);
    return { measure: { jobsPerSec: rate(n, ms) }, note: `${note}, Runner concurrency 8` };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- bunqueue

async function bunqueue(op: PeerOp, path: string, n: number): Promise<PeerResult> {
  const { Queue, Worker } = await importPeer<any>("bunqueue/client");
  const options = { embedded: true, dataPath: path };
  const queue = new Queue("bench", options);
  const note = "embedded, SQLite file, write-behind buffer";
  const bulk = (from: number, size: number) =>
    Array.from({ length: size }, (_, j) => ({ name: "bench", data: { i: from + j } }));
  try {
    if (op === "enqueue") {
      const start = performance.now();
      for (let i = 0; i < n; i++) await queue.add("bench", { i });
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    const start = performance.now();
    for (let i = 0; i < n; i += 1000) await queue.addBulk(bulk(i, Math.min(1000, n - i)));
    if (op === "enqueueMany") {
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    const { tick, done } = counter(n);
    const t0 = performance.now();
    const worker = new Worker("bench", () => Promise.resolve(null), {
      ...options,
      concurrency: 8,
    });
    worker.on("completed", tick);
    await done;
    const ms = performance.now() - t0;
    await worker.close();
    return { measure: { jobsPerSec: rate(n, ms) }, note: `${note}, Worker concurrency 8` };
  } finally {
    await queue.close?.();
  }
}

// ---------------------------------------------------------------- BullMQ

async function bullmq(op: PeerOp, _path: string, n: number): Promise<PeerResult> {
  const { Queue, Worker } = await importPeer<any>("bullmq");
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const name = `tasklite-bench-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const note = "Redis via ioredis";
  const bulk = (from: number, size: number) =>
    Array.from({ length: size }, (_, j) => ({ name: "bench", data: { i: from + j } }));
  try {
    if (op === "enqueue") {
      const start = performance.now();
      for (let i = 0; i < n; i++) await queue.add("bench", { i });
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    const start = performance.now();
    for (let i = 0; i < n; i += 1000) await queue.addBulk(bulk(i, Math.min(1000, n - i)));
    if (op === "enqueueMany") {
      return { measure: { jobsPerSec: rate(n, performance.now() - start) }, note };
    }
    if (op === "manual") {
      const worker = new Worker(name, null, { connection, autorun: false });
      let count = 0;
      const t0 = performance.now();
      for (let job = await worker.getNextJob("bench"); job;) {
        await job.moveToCompleted(null, "bench", false);
        count++;
        job = await worker.getNextJob("bench", { block: false });
      }
      const ms = performance.now() - t0;
      await worker.close();
      if (count !== n) throw new Error(`BullMQ processed ${count} of ${n}`);
      return {
        measure: { jobsPerSec: rate(n, ms) },
        note: `${note}, getNextJob + moveToCompleted`,
      };
    }
    const { tick, done } = counter(n);
    const t0 = performance.now();
    const worker = new Worker(name, () => Promise.resolve(null), { connection, concurrency: 8 });
    worker.on("completed", tick);
    await done;
    const ms = performance.now() - t0;
    await worker.close();
    return { measure: { jobsPerSec: rate(n, ms) }, note: `${note}, Worker concurrency 8` };
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

const PEERS: Partial<Record<PeerId, (op: PeerOp, path: string, n: number) => Promise<PeerResult>>> =
  {
    plainjob,
    liteque,
    bunqueue,
    bullmq,
  };

/** Runs `op` with `n` jobs on `peer`, on a fresh file at `path` (BullMQ: a fresh Redis queue). */
export function runPeer(peer: PeerId, op: PeerOp, path: string, n: number): Promise<PeerResult> {
  const run = PEERS[peer];
  if (!run) throw new Error(`${peer} runs only in the PostgreSQL workloads`);
  return run(op, path, n);
}
