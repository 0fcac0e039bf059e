/**
 * The PostgreSQL workloads, for tasklite (its public API, `TaskQueue.open({ postgres, schema })`),
 * pg-boss (`send`, `insert`, `work`) and graphile-worker (`makeWorkerUtils().addJob`, `addJobs`,
 * `runOnce`, `run`), each on a schema of its own on the same server, dropped after. Processing and
 * latency run their workers in child processes (`bench/_child.ts pg-worker`), as on other machines.
 * The peers load from the scratch folder at run time; their types are not checked here.
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any -- the peers are untyped here: they load at run time

import { TaskQueue, Worker } from "../mod.ts";
import {
  dropSchema,
  freshSchema,
  nextStdinLine,
  pgUrl,
  type PgWorkerRequest,
  startPgWorker,
} from "./_pg.ts";
import { importPeer } from "./_peers.ts";
import { preciseNow, sleep } from "./_runtime.ts";
import { latencyOf, type Measure, rate } from "./_stats.ts";

/** The systems measured on PostgreSQL. */
export type PgSystem = "tasklite" | "pg-boss" | "graphile-worker";

/** The task type / queue name / task identifier every PostgreSQL workload uses. */
const NAME = "bench";

/** The cross-process latency workers' poll interval (each wakes by LISTEN/NOTIFY if it can). */
export const PG_POLL_MS = 1000;

/** A client of one system on one schema: enqueue, bulk enqueue, close. */
interface Client {
  enqueue(payload: Record<string, unknown>): Promise<unknown>;
  enqueueMany(payloads: Record<string, unknown>[]): Promise<unknown>;
  /** Completed tasks, for the check after processing (graphile-worker: none left). */
  finished(n: number): Promise<boolean>;
  close(): Promise<void>;
}

async function graphileLogger(): Promise<any> {
  const { Logger } = await importPeer<any>("graphile-worker");
  return new Logger(() => () => {});
}

async function client(system: PgSystem, schema: string): Promise<Client> {
  const url = pgUrl();
  if (system === "tasklite") {
    const queue = await TaskQueue.open({ postgres: url, schema });
    return {
      enqueue: (payload) => queue.enqueue({ name: `t${payload.i ?? ""}`, taskType: NAME, payload }),
      enqueueMany: (payloads) =>
        queue.enqueueMany(
          payloads.map((payload) => ({ name: `t${payload.i}`, taskType: NAME, payload })),
        ),
      finished: async (n) => (await queue.getQueueStats()).completed === n,
      close: () => queue.close(),
    };
  }
  if (system === "pg-boss") {
    const { PgBoss } = await importPeer<any>("pg-boss");
    const boss = new PgBoss({ connectionString: url, schema, supervise: false, schedule: false });
    boss.on("error", () => {});
    await boss.start();
    await boss.createQueue(NAME, { notify: true });
    return {
      enqueue: (data) => boss.send(NAME, data),
      enqueueMany: (payloads) => boss.insert(NAME, payloads.map((data) => ({ data }))),
      finished: async (n) => {
        const [row] = await boss.getDb().executeSql(
          `SELECT count(*)::int AS c FROM ${schema}.job WHERE name = $1 AND state = 'completed'`,
          [NAME],
        ).then((r: any) => r.rows);
        return row.c === n;
      },
      close: () => boss.stop({ graceful: false }),
    };
  }
  const { makeWorkerUtils } = await importPeer<any>("graphile-worker");
  const utils = await makeWorkerUtils({
    connectionString: url,
    schema,
    logger: await graphileLogger(),
  });
  await utils.migrate();
  return {
    enqueue: (payload) => utils.addJob(NAME, payload),
    enqueueMany: (payloads) =>
      utils.addJobs(payloads.map((payload) => ({ identifier: NAME, payload }))),
    finished: async () => {
      const rows = await utils.withPgClient((pg: any) =>
        pg.query(`SELECT count(*)::int AS c FROM ${schema}._private_jobs`)
      );
      return rows.rows[0].c === 0;
    },
    close: () => utils.release(),
  };
}

/** Runs `body` on a fresh schema for `system`, dropping it after. */
async function onSchema<T>(
  system: PgSystem,
  body: (c: Client, schema: string) => Promise<T>,
): Promise<T> {
  const schema = freshSchema(system);
  try {
    const c = await client(system, schema);
    try {
      return await body(c, schema);
    } finally {
      await c.close();
    }
  } finally {
    await dropSchema(schema);
  }
}

/** `await enqueue()` one at a time. */
export function enqueueOne(system: PgSystem, n: number): Promise<Measure> {
  return onSchema(system, async (c) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) await c.enqueue({ i });
    return { jobsPerSec: rate(n, performance.now() - start) };
  });
}

/** `Promise.all` of 1,000 enqueues, repeated. */
export function enqueueConcurrent(system: PgSystem, n: number): Promise<Measure> {
  return onSchema(system, async (c) => {
    const start = performance.now();
    for (let i = 0; i < n; i += 1000) {
      const size = Math.min(1000, n - i);
      await Promise.all(Array.from({ length: size }, (_, j) => c.enqueue({ i: i + j })));
    }
    return { jobsPerSec: rate(n, performance.now() - start) };
  });
}

/**
 * `n` tasks seeded in bulk (untimed), then `processes` worker processes (concurrency 8 each),
 * started together once all are ready, timed until every one has drained.
 */
export function processWith(system: PgSystem, n: number, processes: number): Promise<Measure> {
  return onSchema(system, async (c, schema) => {
    for (let i = 0; i < n; i += 1000) {
      await c.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ i: i + j })));
    }
    const request: PgWorkerRequest = { system, schema, mode: "process", n: n / processes };
    const workers = Array.from({ length: processes }, () => startPgWorker(request));
    await Promise.all(workers.map((w) => w.ready));
    const start = performance.now();
    workers.forEach((w) => w.send("go"));
    await Promise.all(workers.map((w) => w.exited));
    const ms = performance.now() - start;
    if (!(await c.finished(n))) throw new Error(`${system}: not all ${n} tasks completed`);
    return { jobsPerSec: rate(n, ms) };
  });
}

/** An idle worker in another process; enqueue 2-5 ms apart; enqueue call to handler start. */
export function latencyCross(system: PgSystem, samples: number): Promise<Measure> {
  return onSchema(system, async (c, schema) => {
    const worker = startPgWorker({ system, schema, mode: "latency", n: samples });
    try {
      await worker.ready;
      for (let i = 0; i < samples; i++) {
        await sleep(2 + (i % 4));
        await c.enqueue({ sentAt: preciseNow() });
      }
      const deadline = performance.now() + 30_000;
      while (worker.latencies.length < samples) {
        if (performance.now() > deadline) throw new Error(`${system}: samples missing`);
        await sleep(5);
      }
      return latencyOf(worker.latencies);
    } finally {
      worker.send("stop");
      await worker.exited;
    }
  });
}

/** The worker child (`bench/_child.ts pg-worker`): see {@linkcode PgWorkerRequest}. */
export async function pgWorker(request: PgWorkerRequest): Promise<void> {
  const { system, schema, mode } = request;
  const latency = mode === "latency";
  const handle = (payload: any) => {
    if (latency) console.log(`latency ${preciseNow() - payload.sentAt}`);
  };
  const url = pgUrl();
  if (system === "tasklite") {
    const queue = await TaskQueue.open({ postgres: url, schema });
    const worker = new Worker(queue, {
      handlers: { [NAME]: handle },
      concurrency: 8,
      ...(latency ? { pollIntervalMs: PG_POLL_MS } : {}),
    });
    console.log("ready");
    if (!latency) await nextStdinLine();
    worker.start();
    await (latency ? nextStdinLine() : worker.onIdle());
    await worker.stop();
    await queue.close();
  } else if (system === "pg-boss") {
    const { PgBoss } = await importPeer<any>("pg-boss");
    const boss = new PgBoss({
      connectionString: url,
      schema,
      supervise: false,
      schedule: false,
      useListenNotify: latency,
    });
    boss.on("error", () => {});
    await boss.start();
    console.log("ready");
    if (!latency) await nextStdinLine();
    let seen = 0;
    let all!: () => void;
    const done = new Promise<void>((resolve) => (all = resolve));
    await boss.work(NAME, {
      batchSize: 8,
      burstWhenBatchFull: true,
      pollingIntervalSeconds: latency ? PG_POLL_MS / 1000 : 0.5,
    }, (jobs: any[]) => {
      for (const job of jobs) handle(job.data);
      if ((seen += jobs.length) >= request.n) all();
      return Promise.resolve();
    });
    await (latency ? nextStdinLine() : done);
    await boss.offWork(NAME, { wait: true });
    await boss.stop({ graceful: true, close: true });
  } else {
    const { run, runOnce } = await importPeer<any>("graphile-worker");
    const options = {
      connectionString: url,
      schema,
      concurrency: 8,
      noHandleSignals: true,
      pollInterval: PG_POLL_MS,
      logger: await graphileLogger(),
      taskList: { [NAME]: (payload: unknown) => handle(payload) },
    };
    console.log("ready");
    if (latency) {
      const runner = await run(options);
      await nextStdinLine();
      await runner.stop();
    } else {
      await nextStdinLine();
      await runOnce(options);
    }
  }
}
