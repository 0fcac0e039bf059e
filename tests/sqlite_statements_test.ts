/**
 * What the SQLite engine costs, counted through a driver that records every statement and
 * transaction: claims with limits take a constant number of statements, a batch of transitions is
 * one transaction, a lone transition that finishes no task is one statement. And the plans of the
 * statements added for quotas and wake-up times.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import { type SqliteDriver, TaskQueue } from "../mod.ts";
import { immediate } from "../src/drivers/_file.ts";
import { STATEMENTS } from "../src/sqlite/_statements.ts";
import { FakeClock } from "./_helpers.ts";

/** A node:sqlite driver that counts statements run and transactions taken. */
function countingDriver(db = new DatabaseSync(":memory:")) {
  const counts = { statements: 0, transactions: 0, sql: [] as string[] };
  const driver: SqliteDriver = {
    name: "counting",
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const statement = db.prepare(sql);
      const count = () => (counts.statements++, counts.sql.push(sql));
      return {
        all: (params) => (count(), statement.all(...params)),
        get: (params) => (count(), statement.get(...params)),
        run: (params) => (count(), Number(statement.run(...params).changes)),
      };
    },
    transaction(fn) {
      counts.transactions++;
      return immediate(db, fn);
    },
  };
  return { db, driver, counts };
}

async function countingQueue() {
  const { db, driver, counts } = countingDriver();
  const clock = new FakeClock();
  const queue = await TaskQueue.open({ database: driver, clock: clock.fn });
  const measure = async <T>(fn: () => Promise<T>) => {
    const before = { ...counts, sql: counts.sql.length };
    const value = await fn();
    return {
      value,
      sql: counts.sql.slice(before.sql),
      statements: counts.statements - before.statements,
      transactions: counts.transactions - before.transactions,
    };
  };
  return { db, queue, clock, measure };
}

describe("the SQLite engine's statement counts", () => {
  test("a claim with limits set takes a bounded number of statements, whatever it claims", async () => {
    const { db, queue, measure } = await countingQueue();
    await queue.setLimits("pool", { concurrency: 4 });
    await queue.setLimits("api", { rate: { max: 3, intervalMs: 60_000 } });
    await queue.setLimits("both", { concurrency: 5, rate: { max: 2, intervalMs: 60_000 } });
    await queue.pause("paused");
    const types = ["pool", "api", "both", "paused", "free"];
    await queue.enqueueMany(
      Array.from({ length: 100 }, (_, i) => ({ name: `t${i}`, taskType: types[i % 5]! })),
    );
    // recover, controls, running, forget, rates, record; then one claim round, plus at most one
    // more per limited type (a round that fills a type's room).
    const bound = 6 + 1 + 3;
    const one = await measure(() => queue.dequeueMany(3));
    assert.deepEqual(one.value.map((task) => task.taskType), ["pool", "api", "both"]);
    assert.equal(one.statements, 7, "nothing filled up: one round");
    const many = await measure(() => queue.dequeueMany(12));
    assert.equal(many.value.length, 12);
    assert.ok(many.statements <= bound, `${many.statements} statements`);
    assert.equal(many.transactions, 1);

    const all = [...one.value, ...many.value];
    const of = (type: string) => all.filter((task) => task.taskType === type).length;
    assert.deepEqual([of("pool"), of("api"), of("both"), of("paused")], [4, 3, 2, 0]);
    const rest = await measure(() => queue.dequeueMany(100));
    assert.ok(rest.statements <= bound, `${rest.statements} statements`);
    assert.ok(rest.value.every((task) => task.taskType === "free"), "the limits hold");
    assert.equal(rest.value.length, 20 - of("free"), "every free task is claimed");
    await queue.close();
    db.close();
  });

  test("a backlog of a limited type costs a claim no scan: one round stops at the limit", async () => {
    const { db, queue, measure } = await countingQueue();
    await queue.setLimits("a", { concurrency: 1000 });
    await queue.setLimits("b", { concurrency: 10 }); // nothing pending of this type
    for (let i = 0; i < 5; i++) {
      await queue.enqueueMany(
        Array.from({ length: 1000 }, (_, j) => ({ name: `a${i}-${j}`, taskType: "a" })),
      );
    }
    const claim = await measure(() => queue.dequeueMany(10));
    assert.equal(claim.value.length, 10);
    assert.equal(claim.statements, 4); // recover, controls, running, claim (no rates, no record)
    await queue.close();
    db.close();
  });

  test("a batch of 100 completions is one transaction; a lone heartbeat is one statement", async () => {
    const { db, queue, measure } = await countingQueue();
    await queue.enqueueMany(
      Array.from({ length: 101 }, (_, i) => ({ name: `t${i}`, taskType: "job" })),
    );
    const tasks = await queue.dequeueMany(101);
    const beat = await measure(() => queue.heartbeat(tasks[0]!));
    assert.deepEqual([beat.statements, beat.transactions], [1, 0]);
    // A completion also counts the finished task and adds it to the per-minute history: its
    // statement, the count and the history's upsert, in one transaction.
    const lone = await measure(() => queue.completeTask(tasks[0]!, "one"));
    assert.deepEqual([lone.statements, lone.transactions], [3, 1]);
    const batch = await measure(() =>
      queue.completeMany(tasks.slice(1).map((task) => ({ task, result: task.id })))
    );
    assert.equal(batch.transactions, 1);
    assert.equal(batch.statements, 3, "the completions, the count, the history: one each");
    assert.ok(batch.value.every((settled) => settled.status === "fulfilled"));
    assert.equal((await queue.getQueueStats()).completed, 101);
    await queue.close();
    db.close();
  });

  test("a batch's completions of several types cost one history upsert", async () => {
    const { db, queue, measure } = await countingQueue();
    await queue.enqueueMany(
      Array.from({ length: 40 }, (_, i) => ({ name: `t${i}`, taskType: `type${i % 4}` })),
    );
    const tasks = await queue.dequeueMany(40);
    const batch = await measure(() => Promise.all(tasks.map((task) => queue.completeTask(task))));
    assert.equal(batch.transactions, 1);
    const upserts = batch.sql.filter((text) => /INSERT INTO "task_buckets"/.test(text));
    assert.equal(upserts.length, 1, batch.sql.join("\n"));
    const history = await queue.history();
    assert.deepEqual(
      history.types.map((t) => [t.taskType, t.completed, t.runMs.count]),
      [["type0", 10, 10], ["type1", 10, 10], ["type2", 10, 10], ["type3", 10, 10]],
    );
    await queue.close();
    db.close();
  });

  test("a lone keyless enqueue is one statement, a keyed one a transaction", async () => {
    const { db, queue, measure } = await countingQueue();
    const plain = await measure(() => queue.enqueue({ name: "a", taskType: "job" }));
    assert.deepEqual([plain.statements, plain.transactions], [1, 0]);
    const keyed = await measure(() =>
      queue.enqueue({ name: "b", taskType: "job", uniqueKey: "k" })
    );
    assert.equal(keyed.transactions, 1);
    await queue.close();
    db.close();
  });
});

describe("the plans of the capped claim and the wake-up query", () => {
  test("the capped claim walks the dequeue index; the wake-up time is index seeks only", async () => {
    const db = new DatabaseSync(":memory:");
    await (await TaskQueue.open({ database: db })).close();
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
      INSERT INTO tasks (name, task_type, payload, priority, status, max_retries,
                         created_at, scheduled_at)
      SELECT 't' || i, 'type' || (i % 7), '{}', 1 + i % 4,
             CASE WHEN i <= 15000 THEN 'completed' ELSE 'pending' END, 3, i, i FROM n;
      ANALYZE;`);
    const plan = (sql: string) =>
      db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((row) => String(row.detail)).join("\n");
    const capped = plan(STATEMENTS.claimCapped.sql);
    assert.match(capped, /USING (COVERING )?INDEX tasks_dequeue_idx/, capped);
    assert.doesNotMatch(capped, /SCAN tasks(?! USING)/, capped);
    const wake = plan(STATEMENTS.nextWake.sql);
    assert.doesNotMatch(wake, /SCAN (?!CONSTANT ROW)/, wake); // no table is scanned
    assert.match(wake, /SEARCH tasks USING (COVERING )?INDEX tasks_dequeue_idx/, wake);
    assert.match(wake, /tasks_lease_idx/, wake);
    db.close();
  });
});
