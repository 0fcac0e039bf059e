/**
 * What the PostgreSQL engine does beyond the conformance suite: concurrent first opens migrate a
 * schema once (the advisory lock), a caller's postgres.js client is used and left open, and
 * SQLite-only options are refused; heartbeats and failures of one turn, merged into one statement
 * each, still answer each call alone. Needs `TASKLITE_PG_URL`; without it, skipped visibly.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { LeaseLostError, type Task, TaskQueue, TaskStatus, ValidationError } from "../mod.ts";
import { MIGRATIONS } from "../src/postgres/_migrations.ts";
import { FakeClock } from "./_helpers.ts";

const URL = process.env.TASKLITE_PG_URL;
const skip = URL ? false : "engine postgres: TASKLITE_PG_URL is not set";
if (skip) console.log(`SKIP postgres_test: ${skip}`);

/** Runs `body` on a fresh schema name and a client of its own, dropping the schema after. */
async function withSchema(
  body: (schema: string, sql: import("postgres").Sql) => Promise<void>,
): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(URL!, { onnotice: () => {}, max: 2 });
  const schema = `tasklite_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  try {
    await body(schema, sql);
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end({ timeout: 5 });
  }
}

describe("postgres engine", { skip }, () => {
  test("ten queues opening a new schema at once migrate it once", () =>
    withSchema(async (schema, sql) => {
      const queues = await Promise.all(
        Array.from({ length: 10 }, () => TaskQueue.open({ postgres: URL!, schema })),
      );
      try {
        const rows = await sql.unsafe(
          `SELECT version, count(*)::int AS n FROM "${schema}".tasklite_migrations
            GROUP BY version ORDER BY version`,
        );
        assert.deepEqual(
          rows.map((row) => [row.version, row.n]),
          MIGRATIONS.map((migration) => [migration.version, 1]),
          "each migration applied once",
        );
        const ids = await Promise.all(
          queues.map((queue, i) => queue.enqueue({ name: `${i}`, taskType: "t" })),
        );
        assert.equal(new Set(ids).size, 10, "every queue writes to the one schema");
        assert.equal((await queues[0]!.getQueueStats()).pending, 10);
      } finally {
        for (const queue of queues) await queue.close();
      }
    }));

  test("a caller's client is used and left open at close", () =>
    withSchema(async (schema, sql) => {
      const queue = await TaskQueue.open({ postgres: sql, schema });
      const id = await queue.enqueue({ name: "mine", taskType: "t", payload: { n: 1 } });
      assert.deepEqual((await queue.getTask(id))?.payload, { n: 1 });
      await queue.close();
      const [row] = await sql.unsafe(`SELECT name FROM "${schema}".tasks WHERE id = ${id}`);
      assert.equal(row?.name, "mine", "the client still works after the queue closed");
    }));

  test("heartbeats and failures of one turn each answer as alone (stale, repeated, current)", () =>
    withSchema(async (schema, sql) => {
      const clock = new FakeClock();
      // Two connections: the reads before each failure tend to answer in one turn, so the
      // failures meet in one batch more often than over ten.
      const queue = await TaskQueue.open({ postgres: sql, schema, clock: clock.fn });
      try {
        await queue.enqueueMany([
          { name: "a", taskType: "t", maxRetries: 1 },
          { name: "b", taskType: "t", maxRetries: 0 },
          { name: "c", taskType: "t" },
        ]);
        const claimed = await queue.dequeueMany(3, { leaseMs: 100 });
        const [a, b, old] = ["a", "b", "c"].map((n) => claimed.find((t) => t.name === n)!);
        clock.advance(60);
        await Promise.all([queue.heartbeat(a!), queue.heartbeat(b!)]);
        clock.advance(60); // c's lease ran out: the next claim takes it over
        const current = (await queue.dequeue({ leaseMs: 100 }))!;
        assert.equal(current.id, old!.id);
        const value = (r: PromiseSettledResult<Task>) => {
          assert.equal(r.status, "fulfilled", String((r as PromiseRejectedResult).reason));
          return (r as PromiseFulfilledResult<Task>).value;
        };
        const lost = (r: PromiseSettledResult<Task>) =>
          r.status === "rejected" && r.reason instanceof LeaseLostError;

        const beats = await Promise.allSettled([
          queue.heartbeat(a!),
          queue.heartbeat(old!),
          queue.heartbeat(a!),
          queue.heartbeat(current),
        ]);
        assert.equal(value(beats[0]!).leaseExpiresAt, clock.now + 100);
        assert.ok(lost(beats[1]!), "the stale claim's heartbeat lost its lease");
        assert.equal(value(beats[2]!).leaseExpiresAt, clock.now + 100, "a repeat applies too");
        assert.equal(value(beats[3]!).leaseExpiresAt, clock.now + 100);
        assert.equal((await queue.getTask(b!.id))!.leaseExpiresAt, clock.now - 60 + 100);

        const fails = await Promise.allSettled([
          queue.failTask(a!, "a broke"),
          queue.failTask(old!, "late"),
          queue.failTask(b!, "b broke"),
          queue.failTask(a!, "again"),
        ]);
        const [won, other] = fails[0]!.status === "fulfilled" ? [0, 3] : [3, 0];
        assert.equal(value(fails[won]!).status, TaskStatus.PENDING, "a has a retry left");
        assert.ok(lost(fails[other]!), "of two failures of one claim, one loses");
        assert.ok(lost(fails[1]!), "the stale claim's failure lost its lease");
        assert.equal(value(fails[2]!).status, TaskStatus.FAILED, "b has none");
        const after = (await queue.getTask(a!.id))!;
        assert.deepEqual(after.errors.map((e) => e.error), [won === 0 ? "a broke" : "again"]);
        assert.equal((await queue.getTask(b!.id))!.error, "b broke");
        const c = (await queue.getTask(current.id))!;
        assert.equal(c.status, TaskStatus.RUNNING, "the stale failure changed nothing");
        assert.ok(!c.errors.some((e) => e.error === "late"), "no late error recorded");
        const stats = await queue.getQueueStats();
        assert.deepEqual([stats.pending, stats.running, stats.failed], [1, 1, 1]);
      } finally {
        await queue.close();
      }
    }));

  test("a SQLite-only option is refused before anything is created", () =>
    withSchema(async (schema, sql) => {
      await assert.rejects(
        TaskQueue.open({ postgres: URL!, schema, synchronous: "FULL" }),
        (error: unknown) =>
          error instanceof ValidationError && /synchronous is a SQLite option/.test(error.message),
      );
      const [row] =
        await sql`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${schema}`;
      assert.equal(row?.n, 0, "no schema was created");
    }));
});
