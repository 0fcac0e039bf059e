/**
 * PostgreSQL beyond the conformance suite: idle workers wake on `LISTEN/NOTIFY` across queue
 * objects (two connections standing in for two machines) and the listener closes with the queue;
 * `enqueue`/`enqueueMany` write inside the caller's postgres.js transaction, committing or rolling
 * back with the application's row. Needs `TASKLITE_PG_URL`; without it, skipped visibly.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { type Task, TaskQueue, ValidationError, Worker, type WorkerQueue } from "../mod.ts";

const URL = process.env.TASKLITE_PG_URL;
const skip = URL ? false : "engine postgres: TASKLITE_PG_URL is not set";
if (skip) console.log(`SKIP postgres_notify_test: ${skip}`);

/** A poll interval no test waits out: a task that starts was woken. */
const POLL_MS = 60_000;
/** How long a wake-up may take before the test fails (generous: not a speed test). */
const WAKE_MS = 2_000;

type Sql = import("postgres").Sql;

/** Runs `body` on a fresh schema and a client of its own, dropping the schema after. */
async function withSchema(body: (schema: string, sql: Sql) => Promise<void>): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(URL!, { onnotice: () => {}, max: 4 });
  const schema = `tasklite_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  try {
    await body(schema, sql);
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end({ timeout: 5 });
  }
}

/** Resolves with `promise`, or rejects naming `what` after `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A worker's view of `queue` that counts its claims and resolves `firstClaim` after the first. */
function counted(queue: TaskQueue) {
  let claims = 0;
  let claimed!: () => void;
  const firstClaim = new Promise<void>((resolve) => (claimed = resolve));
  const view: WorkerQueue = {
    logger: queue.logger,
    clock: queue.clock,
    notifier: queue.notifier,
    dequeueMany: async (limit, options) => {
      const tasks = await queue.dequeueMany(limit, options);
      if (++claims === 1) claimed();
      return tasks;
    },
    heartbeat: (task) => queue.heartbeat(task),
    progress: (task, value) => queue.progress(task, value),
    completeTask: (task, result) => queue.completeTask(task, result),
    failTask: (task, error, options) => queue.failTask(task, error, options),
    release: (task) => queue.release(task),
    cancelRequested: (ids) => queue.cancelRequested(ids),
    maintain: () => queue.maintain(),
  };
  return { view, firstClaim, claims: () => claims };
}

/** A worker on `queue` with a long poll; `started` resolves with the first task it runs. */
function idleWorker(queue: WorkerQueue, taskType = "t") {
  let started!: (task: Task) => void;
  const first = new Promise<Task>((resolve) => (started = resolve));
  const worker = new Worker(queue, {
    pollIntervalMs: POLL_MS,
    handlers: {
      [taskType]: (_payload: unknown, ctx: { task: Task }) => {
        started(ctx.task);
        return "done";
      },
    },
  });
  return { worker, started: first };
}

/** How many server sessions are listening on, or last spoke to, a channel of `schema`. */
async function listeners(sql: Sql, schema: string): Promise<number> {
  const [row] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND query ILIKE ${"%listen%tasklite_" + schema + "%"}`;
  return row!.n as number;
}

describe("postgres wake-ups (LISTEN/NOTIFY)", { skip }, () => {
  test("an idle worker on one queue object starts a task enqueued on another at once", () =>
    withSchema(async (schema, sql) => {
      const a = await TaskQueue.open({ postgres: URL!, schema });
      const b = await TaskQueue.open({ postgres: URL!, schema });
      const { view, firstClaim, claims } = counted(b);
      const { worker, started } = idleWorker(view);
      try {
        worker.start();
        await firstClaim; // B found nothing and sleeps for a minute
        assert.equal(claims(), 1);
        const id = await a.enqueue({ name: "from A", taskType: "t" });
        const task = await within(started, WAKE_MS, "the task enqueued on A started on B");
        assert.equal(task.id, id);
        assert.equal(claims(), 2, "one claim more: the wake-up's");
      } finally {
        await worker.stop();
        await a.close();
        await b.close();
      }
      // The queues' own clients, their LISTEN connection included, are gone.
      await within(
        (async () => {
          while (await listeners(sql, schema) > 0) await new Promise((r) => setTimeout(r, 50));
        })(),
        5_000,
        "the listening sessions ended",
      );
    }));

  test("a notification of another type does not wake the worker; one of its type does", () =>
    withSchema(async (schema) => {
      const a = await TaskQueue.open({ postgres: URL!, schema });
      const b = await TaskQueue.open({ postgres: URL!, schema });
      const { view, firstClaim, claims } = counted(b);
      const { worker, started } = idleWorker(view, "mine");
      try {
        worker.start();
        await firstClaim;
        await a.enqueue({ name: "other", taskType: "theirs" });
        const id = await a.enqueue({ name: "mine", taskType: "mine" });
        const task = await within(started, WAKE_MS, "the task of its type started");
        assert.equal(task.id, id);
        assert.equal(claims(), 2, "the other type's notification claimed nothing");
      } finally {
        await worker.stop();
        await a.close();
        await b.close();
      }
    }));

  test("a queue given its own notifier does not LISTEN", () =>
    withSchema(async (schema, sql) => {
      const { LocalNotifier } = await import("../mod.ts");
      const notifier = new LocalNotifier();
      const queue = await TaskQueue.open({ postgres: URL!, schema, notifier });
      try {
        assert.equal(queue.notifier, notifier);
        assert.equal(await listeners(sql, schema), 0);
      } finally {
        await queue.close();
      }
    }));
});

describe("postgres: enqueue inside the caller's transaction", { skip }, () => {
  test("commit: the row and the task exist together, and an idle worker runs it", () =>
    withSchema(async (schema, sql) => {
      await sql.unsafe(`CREATE TABLE "${schema}_users" (id serial PRIMARY KEY, email text)`);
      try {
        const queue = await TaskQueue.open({ postgres: sql, schema });
        const events: number[] = [];
        queue.on("enqueued", ({ taskId }) => events.push(taskId));
        const { view, firstClaim, claims } = counted(queue);
        const { worker, started } = idleWorker(view, "welcome");
        try {
          worker.start();
          await firstClaim;
          let id = 0;
          await sql.begin(async (tx) => {
            const [user] = await tx.unsafe(
              `INSERT INTO "${schema}_users" (email) VALUES ('a@example.com') RETURNING id`,
            );
            id = await queue.enqueue(
              { name: "Welcome", taskType: "welcome", payload: { user: user!.id } },
              { transaction: tx },
            );
            assert.equal(await queue.getTask(id), null, "not visible before the commit");
          });
          const task = await within(started, WAKE_MS, "the committed task started");
          assert.equal(task.id, id);
          assert.deepEqual(task.payload, { user: 1 });
          assert.equal(claims(), 2, "woken at the commit");
          assert.deepEqual(events, [], "no enqueued event (the commit is the caller's)");
        } finally {
          await worker.stop();
          await queue.close();
        }
      } finally {
        await sql.unsafe(`DROP TABLE IF EXISTS "${schema}_users"`);
      }
    }));

  test("rollback: neither the row nor the tasks exist, and nobody was woken", () =>
    withSchema(async (schema, sql) => {
      await sql.unsafe(`CREATE TABLE "${schema}_users" (id serial PRIMARY KEY, email text)`);
      try {
        const queue = await TaskQueue.open({ postgres: sql, schema });
        const woken: string[][] = [];
        const stop = queue.notifier.listen((types) => woken.push([...types]));
        try {
          let ids: number[] = [];
          await assert.rejects(
            sql.begin(async (tx) => {
              await tx.unsafe(`INSERT INTO "${schema}_users" (email) VALUES ('b@example.com')`);
              ids = await queue.enqueueMany([
                { name: "one", taskType: "welcome" },
                { name: "two", taskType: "welcome" },
              ], { transaction: tx });
              throw new Error("the application changes its mind");
            }),
            /changes its mind/,
          );
          assert.equal(ids.length, 2);
          for (const id of ids) assert.equal(await queue.getTask(id), null);
          assert.equal((await queue.getQueueStats()).pending, 0);
          const [row] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${schema}_users"`);
          assert.equal(row!.n, 0);
          // A NOTIFY after the rollback would arrive after this one, on the same connection.
          await queue.enqueue({ name: "after", taskType: "later" });
          await within(
            (async () => {
              while (!woken.some((types) => types.includes("later"))) {
                await new Promise((r) => setTimeout(r, 10));
              }
            })(),
            WAKE_MS,
            "the later enqueue's wake-up",
          );
          assert.deepEqual(woken, [["later"]], "the rolled-back tasks woke nobody");
        } finally {
          stop();
          await queue.close();
        }
      } finally {
        await sql.unsafe(`DROP TABLE IF EXISTS "${schema}_users"`);
      }
    }));

  test("enqueueMany commits its tasks with the caller's transaction", () =>
    withSchema(async (schema, sql) => {
      const queue = await TaskQueue.open({ postgres: sql, schema });
      try {
        const ids = await sql.begin((tx) =>
          queue.enqueueMany([
            { name: "one", taskType: "t" },
            { name: "two", taskType: "t", uniqueKey: "k" },
            { name: "three", taskType: "t" },
          ], { transaction: tx })
        );
        assert.equal(ids.length, 3);
        const claimed = await queue.dequeueMany(10);
        assert.deepEqual(claimed.map((task) => task.id).sort((x, y) => x - y), ids);
      } finally {
        await queue.close();
      }
    }));

  test("a transaction that is not one is refused, and nothing is written", () =>
    withSchema(async (schema) => {
      const queue = await TaskQueue.open({ postgres: URL!, schema });
      try {
        for (const where of [{ transaction: {} }, { transaction: "tx" }, { tx: 1 }]) {
          await assert.rejects(
            // deno-lint-ignore no-explicit-any
            queue.enqueue({ name: "n", taskType: "t" }, where as any),
            (error: unknown) =>
              error instanceof ValidationError && /Invalid enqueue options/.test(error.message),
          );
        }
        assert.equal((await queue.getQueueStats()).pending, 0);
      } finally {
        await queue.close();
      }
    }));

  test("a SQLite queue refuses a transaction, and writes nothing", () =>
    withSchema(async (_schema, sql) => {
      const queue = await TaskQueue.open(":memory:");
      try {
        await sql.begin(async (tx) => {
          await assert.rejects(
            queue.enqueue({ name: "n", taskType: "t" }, { transaction: tx }),
            (error: unknown) =>
              error instanceof ValidationError && /not supported on sqlite/.test(error.message),
          );
        });
        assert.equal((await queue.getQueueStats()).pending, 0);
      } finally {
        await queue.close();
      }
    }));
});
