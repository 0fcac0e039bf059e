/**
 * What the PostgreSQL engine does beyond the conformance suite: concurrent first opens migrate a
 * schema once (the advisory lock), a caller's postgres.js client is used and left open, and
 * SQLite-only options are refused. Needs `TASKLITE_PG_URL`; without it, skipped visibly.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { TaskQueue, ValidationError } from "../mod.ts";

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
          `SELECT version, count(*)::int AS n FROM "${schema}".tasklite_migrations GROUP BY version`,
        );
        assert.deepEqual(rows.map((row) => [row.version, row.n]), [[1, 1]]);
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
