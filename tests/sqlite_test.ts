import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import { getTableColumns, getTableName } from "drizzle-orm";
import { type SqliteDriver, TaskQueue, TaskStatus } from "../mod.ts";
import { STATEMENTS } from "../src/sqlite/_statements.ts";
import { MIGRATIONS } from "../src/sqlite/_migrations.ts";
import { listQuery } from "../src/sqlite/_list.ts";
import { controls, rateEvents, schedules, state, taskCounts, tasks } from "../src/sqlite/schema.ts";
import { RUNTIME, tempDir } from "./_helpers.ts";

async function exercise(queue: TaskQueue): Promise<void> {
  const id = await queue.enqueue({ name: "n", taskType: "t", payload: { big: 2 ** 52 } });
  const task = (await queue.dequeue())!;
  assert.equal(task.id, id);
  assert.deepEqual(task.payload, { big: 2 ** 52 });
  await queue.completeTask(task, { ok: true });
  assert.equal(await queue.dequeue(), null, "no row is null, not an error");
  assert.equal((await queue.getTask(id))!.status, TaskStatus.COMPLETED);
  assert.equal(await queue.getTask(id + 1), null);
  const far = await queue.enqueue({ name: "far", taskType: "t", scheduledAt: 8.64e15 });
  assert.equal((await queue.getTask(far))!.scheduledAt, 8.64e15);
}

describe("SQLite drivers", () => {
  test("node:sqlite, chosen explicitly", async () => {
    const queue = await TaskQueue.open(":memory:", { driver: "node:sqlite" });
    await exercise(queue);
    await queue.close();
  });

  test("bun:sqlite, chosen explicitly (Bun only)", async (t) => {
    if (RUNTIME !== "bun") {
      console.log(`SKIP bun:sqlite driver test: needs Bun, running on ${RUNTIME}`);
      await assert.rejects(
        TaskQueue.open(":memory:", { driver: "bun:sqlite" }),
        /driver "bun:sqlite" needs the Bun runtime/,
      );
      t.skip(`bun:sqlite needs Bun (running on ${RUNTIME})`);
      return;
    }
    const queue = await TaskQueue.open(":memory:", { driver: "bun:sqlite" });
    await exercise(queue);
    await queue.close();
    const specifier = "bun:sqlite";
    const { Database } = await import(specifier);
    const db = new Database(":memory:");
    const adopted = await TaskQueue.open({ database: db });
    await exercise(adopted);
    await adopted.close();
    assert.equal(db.query("SELECT count(*) AS n FROM tasks").get().n, 2, "left open");
    db.close();
  });

  test("a caller's node:sqlite handle is configured, migrated and left open", async () => {
    const tmp = tempDir();
    try {
      const db = new DatabaseSync(tmp.file("own.db"));
      const queue = await TaskQueue.open({ database: db, synchronous: "FULL" });
      await exercise(queue);
      const pragma = (sql: string) => Object.values(db.prepare(sql).get()!)[0];
      assert.equal(pragma("PRAGMA journal_mode"), "wal");
      assert.equal(pragma("PRAGMA synchronous"), 2, "FULL");
      // one attempt's synchronous wait; the queue waits the rest (busyTimeoutMs) on timers
      assert.equal(pragma("PRAGMA busy_timeout"), 50);
      await queue.close();
      assert.equal(pragma("SELECT count(*) FROM tasks"), 2, "the handle still works after close");
      db.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a handle that reads integers as BigInt still gets numbers", async () => {
    const db = new DatabaseSync(":memory:", { readBigInts: true } as never);
    const probe = db.prepare("SELECT 1 AS one").get() as { one: unknown };
    console.log(`this runtime's handle reads integers as ${typeof probe.one}`);
    const queue = await TaskQueue.open({ database: db });
    await exercise(queue); // its ids, counts and timestamps are compared as numbers
    assert.equal(typeof (await queue.getQueueStats()).completed, "number");
    await queue.close();
    db.close();
  });

  test("synchronous defaults to NORMAL", async () => {
    const db = new DatabaseSync(":memory:");
    const queue = await TaskQueue.open({ database: db });
    assert.equal(Object.values(db.prepare("PRAGMA synchronous").get()!)[0], 1);
    await queue.close();
    db.close();
  });

  test("a custom SqliteDriver works", async () => {
    const db = new DatabaseSync(":memory:");
    const executed: string[] = [];
    const driver: SqliteDriver = {
      name: "custom",
      exec: (sql) => {
        executed.push(sql);
        db.exec(sql);
      },
      prepare(sql) {
        const statement = db.prepare(sql);
        return {
          all: (params) => statement.all(...params) as Record<string, unknown>[],
          get: (params) => statement.get(...params) as Record<string, unknown> | undefined,
          run: (params) => Number(statement.run(...params).changes),
        };
      },
      close: () => db.close(),
    };
    const queue = await TaskQueue.open({ database: driver });
    await exercise(queue);
    assert.ok(executed.includes("BEGIN IMMEDIATE"), "writes take the lock up front");
    await queue.close();
    db.close();
  });
});

describe("schema", () => {
  test("migrations are applied once and recorded", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("m.db");
      await (await TaskQueue.open(path)).close();
      await (await TaskQueue.open(path)).close();
      const db = new DatabaseSync(path);
      const rows = db.prepare("SELECT version, name FROM tasklite_migrations").all();
      assert.deepEqual(
        rows.map((row) => ({ ...row })),
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      );
      db.exec("INSERT INTO tasklite_migrations VALUES (999, 'from the future', 0)");
      db.close();
      await assert.rejects(TaskQueue.open(path), /schema is at version 999, newer than this/);
    } finally {
      tmp.cleanup();
    }
  });

  test("a file at schema version 2 is rebuilt at open, keeping rows, counts and ids", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("v2.db");
      const old = new DatabaseSync(path);
      old.exec(`CREATE TABLE tasklite_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
      for (const migration of MIGRATIONS.slice(0, 2)) {
        old.exec(migration.sql);
        old.prepare("INSERT INTO tasklite_migrations VALUES (?, ?, 0)")
          .run(migration.version, migration.name);
      }
      const insert = old.prepare(`INSERT INTO tasks (id, name, task_type, payload, priority, status,
        max_retries, created_at, scheduled_at, completed_at, unique_key, errors)
        VALUES (?, ?, 't', '{"n":1}', 2, ?, 3, 0, 0, ?, ?, '[]')`);
      const statuses = ["pending", "running", "completed", "failed", "cancelled"];
      statuses.forEach((status, i) => {
        const finished = i >= 2 ? 1000 + i : null;
        insert.run(i + 1, status, status, finished, i === 0 ? "key" : null);
      });
      insert.run(9, "gone", "completed", 1, null);
      old.exec("DELETE FROM tasks WHERE id = 9"); // AUTOINCREMENT remembers 9
      old.close();

      const queue = await TaskQueue.open(path);
      assert.deepEqual(await queue.getQueueStats(), {
        pending: 1,
        running: 1,
        completed: 1,
        failed: 1,
        cancelled: 1,
      });
      const first = (await queue.getTask(1))!;
      assert.equal(first.name, "pending");
      assert.deepEqual(first.payload, { n: 1 });
      assert.equal((await queue.getTask(3))!.completedAt, 1002);
      assert.equal(await queue.enqueue({ name: "next", taskType: "t" }), 10, "9 is not reused");
      assert.equal(
        await queue.enqueue({ name: "dup", taskType: "t", uniqueKey: "key" }),
        1,
        "unique keys still hold",
      );
      await queue.close();

      const db = new DatabaseSync(path);
      const indexes = db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL ORDER BY name",
      ).all().map((row) => row.name);
      assert.deepEqual(indexes, [
        "tasks_dequeue_idx",
        "tasks_finished_idx",
        "tasks_key_idx",
        "tasks_lease_idx",
        "tasks_running_key_idx",
        "tasks_unique_key_idx",
      ]);
      const autoincrement = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'tasks'").get();
      assert.doesNotMatch(String(autoincrement?.sql), /AUTOINCREMENT/);
      db.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("the drizzle schema matches the migrated tables", async () => {
    const db = new DatabaseSync(":memory:");
    await (await TaskQueue.open({ database: db })).close();
    for (const table of [tasks, controls, rateEvents, schedules, taskCounts, state]) {
      const name = getTableName(table);
      const columns = db.prepare(`PRAGMA table_info(${name})`).all() as {
        name: string;
        type: string;
        notnull: number;
        pk: number;
      }[];
      const drizzleColumns = Object.values(getTableColumns(table));
      assert.deepEqual(
        columns.map((c) => [c.name, c.type, c.notnull === 1 || c.pk === 1, c.pk === 1]),
        drizzleColumns.map((c) => [c.name, c.getSQLType().toUpperCase(), c.notNull, c.primary]),
        name,
      );
    }
    db.close();
  });

  test("the hot statements use their indexes with a large finished history", async () => {
    const db = new DatabaseSync(":memory:");
    await (await TaskQueue.open({ database: db })).close();
    // 50,000 finished rows and 100 pending ones, written straight into the table.
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50100)
      INSERT INTO tasks (name, task_type, payload, priority, status, max_retries,
                         created_at, scheduled_at)
      SELECT 't' || i, 'job', '{}', 1 + i % 4,
             CASE WHEN i <= 50000 THEN 'completed' ELSE 'pending' END, 3, i, i FROM n;
      ANALYZE;`);
    const plan = (sql: string) =>
      db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((row) => String(row.detail)).join("\n");
    const claim = plan(STATEMENTS.claim.sql);
    assert.match(claim, /USING (COVERING )?INDEX tasks_dequeue_idx/);
    assert.doesNotMatch(claim, /SCAN tasks(?! USING)/, claim);
    assert.doesNotMatch(claim, /TEMP B-TREE/, claim);
    const claimTypes = plan(STATEMENTS.claimTypes.sql);
    assert.match(claimTypes, /USING (COVERING )?INDEX tasks_dequeue_idx/);
    assert.doesNotMatch(claimTypes, /TEMP B-TREE/, claimTypes);
    assert.match(
      plan(STATEMENTS.expired.sql),
      /USING (COVERING )?INDEX tasks_lease_idx \(lease_expires_at<\?\)/,
    );
    assert.match(plan(STATEMENTS.recover.sql), /USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    const latest = plan(STATEMENTS.latestWrite.sql);
    assert.match(latest, /USING (COVERING )?INDEX tasks_finished_idx/, latest);
    assert.doesNotMatch(latest, /SCAN tasks(?! USING)/, latest);
    // Every list, count and retention read stays on the rows of its own status.
    const index = (name: string) => new RegExp(`USING (COVERING )?INDEX ${name}\\b`);
    const scansTable = /SCAN tasks(?! USING)/;
    for (
      const [key, name] of [
        ["listPending", "tasks_dequeue_idx"],
        ["listRunning", "tasks_lease_idx"],
        ["listFinished", "tasks_finished_idx"],
        ["failedIds", "tasks_finished_idx"],
        ["prune", "tasks_finished_idx"],
        ["stats", "tasks_dequeue_idx"],
        ["stats", "tasks_lease_idx"],
        ["liveByType", "tasks_dequeue_idx"],
        ["runningByType", "tasks_lease_idx"],
        ["findLiveByKey", "tasks_unique_key_idx"],
        ["claimExcept", "tasks_dequeue_idx"],
        ["fairCandidates", "tasks_dequeue_idx"],
        ["nextKeys", "tasks_key_idx"],
        ["keyHead", "tasks_key_idx"],
        ["runningByKey", "tasks_running_key_idx"],
        ["runningOfKey", "tasks_running_key_idx"],
        ["runningIdsOfKey", "tasks_running_key_idx"],
      ] as const
    ) {
      const detail = plan(STATEMENTS[key].sql);
      assert.match(detail, index(name), `${key}:\n${detail}`);
      assert.doesNotMatch(detail, scansTable, `${key}:\n${detail}`);
    }
    // Filtered and sorted lists (built per shape) read their status's index too.
    const filter = {
      search: "42",
      taskType: "t",
      priority: 2,
      due: "scheduled",
      now: 0,
      sort: { by: "name", descending: true },
    } as const;
    for (
      const [status, name] of [
        ["pending", "tasks_dequeue_idx"],
        ["running", "tasks_lease_idx"],
        ["failed", "tasks_finished_idx"],
      ] as const
    ) {
      const detail = plan(listQuery(status, { limit: 1, offset: 0 }, filter).build().sql);
      assert.match(detail, index(name), `${status}:\n${detail}`);
      assert.doesNotMatch(detail, scansTable, `${status}:\n${detail}`);
    }
    assert.doesNotMatch(
      plan(STATEMENTS.listFinished.sql),
      /TEMP B-TREE/,
      "finished lists in order",
    );
    assert.doesNotMatch(plan(STATEMENTS.prune.sql), /TEMP B-TREE/, "prune in order");
    // The fair claim seeks: the next key (the key index, by key), a key's first tasks in order.
    assert.match(
      plan(STATEMENTS.nextKeys.sql),
      /tasks_key_idx \(task_type=\? AND concurrency_key>\?\)/,
    );
    const head = plan(STATEMENTS.keyHead.sql);
    assert.match(head, /tasks_key_idx \(task_type=\? AND concurrency_key=\?\)/, head);
    assert.doesNotMatch(head, /TEMP B-TREE/, head);
    console.log(`claim plan:\n${claim}`);
    db.close();
  });

  test("no statement is re-prepared at each call by a bound LIMIT or OFFSET", () => {
    // SQLite reads a bare `LIMIT ?` while planning and then re-prepares the statement at every
    // bind (about 40 µs per claim); the statements bind counts through a cast instead.
    for (const [key, { sql }] of Object.entries(STATEMENTS)) {
      assert.doesNotMatch(sql, /\b(LIMIT|OFFSET)\s+\?/i, key);
    }
    assert.match(STATEMENTS.claim.sql, /LIMIT CAST\(\? AS INTEGER\)/);
  });
});
