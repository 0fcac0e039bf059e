/**
 * Runs the conformance suite (`tests/conformance/`) once per engine: `node:sqlite`, `bun:sqlite`
 * (on Bun only) and the Durable Object driver over a fake Durable Object storage. Each test gets
 * its own temporary file, so `reopen` opens the same storage again and `writeRaw` writes to it
 * through a second node:sqlite connection; the file is removed after the test. With
 * `TASKLITE_PG_URL` set, it runs for PostgreSQL too, each test on a schema of its own
 * (`tests/conformance/_postgres.ts`); without it, that engine is skipped, saying so.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type OpenOptions, TaskQueue } from "../mod.ts";
import { wrap as durableObjectDriver } from "../src/drivers/durable_object.ts";
import { type ConformanceEngine, runConformance } from "./conformance/mod.ts";
import {
  type FakeDurableObjectStorage,
  fakeDurableObjectStorage,
} from "./conformance/_durable_object_storage.ts";
import { onPostgres } from "./conformance/_postgres.ts";
import { RUNTIME, tempDir } from "./_helpers.ts";
import process from "node:process";

/**
 * An engine whose storage is a file: `open` makes a temporary file per call, `reopen` connects
 * to the same file again, `writeRaw` writes to it behind the queue's back, `cleanup` closes what
 * `connect` registered and removes the files.
 */
function onFiles(
  name: string,
  connect: (
    path: string,
    options: OpenOptions,
    onCleanup: (close: () => void) => void,
  ) => Promise<TaskQueue>,
  skip: Record<string, string> = {},
): ConformanceEngine {
  const paths = new WeakMap<TaskQueue, string>();
  const dirs: ReturnType<typeof tempDir>[] = [];
  const closers: (() => void)[] = [];
  const at = async (path: string, options: OpenOptions) => {
    const queue = await connect(path, options, (close) => void closers.push(close));
    paths.set(queue, path);
    return queue;
  };
  return {
    name,
    open(options = {}) {
      const tmp = tempDir();
      dirs.push(tmp);
      return at(tmp.file("tasks.db"), options);
    },
    reopen(queue, options = {}) {
      const path = paths.get(queue);
      if (path === undefined) throw new Error(`${name}: reopen() of a queue it did not open`);
      return at(path, options);
    },
    async writeRaw(queue, sql) {
      const path = paths.get(queue);
      if (path === undefined) throw new Error(`${name}: writeRaw() on a queue it did not open`);
      const { DatabaseSync } = await import("node:sqlite");
      const raw = new DatabaseSync(path);
      try {
        raw.exec("PRAGMA busy_timeout = 5000");
        raw.exec(sql);
      } finally {
        raw.close();
      }
    },
    cleanup() {
      try {
        for (const close of closers.splice(0)) close();
      } finally {
        for (const dir of dirs.splice(0)) dir.cleanup();
      }
    },
    skip,
  };
}

runConformance(onFiles(
  "node:sqlite",
  (path, options) => TaskQueue.open(path, { ...options, driver: "node:sqlite" }),
));

if (RUNTIME === "bun") {
  runConformance(onFiles(
    "bun:sqlite",
    (path, options) => TaskQueue.open(path, { ...options, driver: "bun:sqlite" }),
  ));
} else {
  const reason = `engine bun:sqlite: needs the Bun runtime (running on ${RUNTIME})`;
  console.log(`SKIP conformance: ${reason}`);
  test("conformance: bun:sqlite", { skip: reason }, () => {});
}

runConformance(onFiles(
  "durable-object (fake storage)",
  (path, options, onCleanup) => {
    const storage = fakeDurableObjectStorage(path);
    onCleanup(() => storage.close());
    // As a Durable Object passes it: `ctx.storage` itself (the queue wraps it).
    return TaskQueue.open({ ...options, database: storage });
  },
));

const PG_URL = process.env.TASKLITE_PG_URL;
if (PG_URL) {
  runConformance(onPostgres(PG_URL));
} else {
  const reason = "engine postgres: TASKLITE_PG_URL is not set";
  console.log(`SKIP conformance: ${reason}`);
  test("conformance: postgres", { skip: reason }, () => {});
}

describe("the fake Durable Object storage is as strict as the platform", () => {
  const withStorage = async (body: (storage: FakeDurableObjectStorage) => void | Promise<void>) => {
    const tmp = tempDir();
    const storage = fakeDurableObjectStorage(tmp.file("do.db"));
    try {
      await body(storage);
    } finally {
      storage.close();
      tmp.cleanup();
    }
  };

  test("exec refuses transaction statements, wherever they are in the text", () =>
    withStorage(({ sql }) => {
      for (
        const statement of [
          "BEGIN",
          "begin immediate",
          "  /* hidden */ BEGIN TRANSACTION",
          "COMMIT",
          "END",
          "ROLLBACK",
          "SAVEPOINT s",
          "RELEASE s",
          "CREATE TABLE a (x); BEGIN",
        ]
      ) {
        assert.throws(() => sql.exec(statement), (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.ok(
            error.message.startsWith(
              "To execute a transaction, please use the state.storage.transactionSync()",
            ),
            error.message,
          );
          return true;
        }, statement);
      }
      assert.throws(() => sql.exec("SELECT * FROM a"), /no such table/, "nothing ran");
    }));

  test("exec runs several statements, keeps trigger bodies whole, and counts writes", () =>
    withStorage(({ sql }) => {
      sql.exec(`
        CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT DEFAULT ';'); -- a comment; with a semicolon
        CREATE TABLE log (v TEXT);
        CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
          INSERT INTO log VALUES (CASE WHEN new.v = 'x' THEN 'x;' ELSE 'other' END);
        END;
        /* trailing comment */`);
      const insert = sql.exec("INSERT INTO t (v) VALUES (?), (?) RETURNING id", "x", "y");
      assert.deepEqual(insert.toArray(), [{ id: 1 }, { id: 2 }]);
      assert.equal(insert.rowsWritten, 4, "two rows and the trigger's two");
      assert.deepEqual(sql.exec("SELECT v FROM log ORDER BY rowid").toArray(), [
        { v: "x;" },
        { v: "other" },
      ]);
      const last = sql.exec("UPDATE t SET v = 'z'; SELECT count(*) AS n FROM t WHERE v = ?", "z");
      assert.deepEqual(last.one(), { n: 2 }, "the last statement takes the bindings");
      assert.equal(last.rowsWritten, 2);
      assert.deepEqual([...sql.exec("SELECT id FROM t ORDER BY id")], [{ id: 1 }, { id: 2 }]);
      assert.deepEqual([...sql.exec("SELECT id, v FROM t WHERE id = 1").raw()], [[1, "z"]]);
    }));

  test("exec checks bindings and results as the platform does", () =>
    withStorage(({ sql }) => {
      sql.exec("CREATE TABLE b (x)");
      assert.throws(() => sql.exec("INSERT INTO b VALUES (?)"), /Wrong number of parameter/);
      assert.throws(() => sql.exec("INSERT INTO b VALUES (?)", 1, 2), /Wrong number of parameter/);
      for (const value of [true, undefined, 1n, {}, new Date()]) {
        assert.throws(() => sql.exec("INSERT INTO b VALUES (?)", value), TypeError);
      }
      sql.exec("INSERT INTO b VALUES (?)", new Uint8Array([1, 2, 3]).buffer);
      const blob = sql.exec("SELECT x FROM b").one().x;
      assert.ok(blob instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(blob)], [1, 2, 3]);
      assert.throws(() => sql.exec("SELECT x FROM b WHERE 0").one(), /got no results/);
      sql.exec("INSERT INTO b VALUES (?)", null);
      assert.throws(() => sql.exec("SELECT x FROM b").one(), /got multiple results/);
      assert.throws(() => sql.exec("PRAGMA journal_mode = WAL"), /not authorized/);
      assert.throws(() => sql.exec("PRAGMA synchronous = FULL"), /not authorized/);
      assert.throws(() => sql.exec("ATTACH ':memory:' AS other"), /not authorized/);
      assert.equal(sql.exec("PRAGMA table_info(b)").toArray().length, 1, "allowed PRAGMAs run");
      const terms = (n: number) =>
        Array.from({ length: n }, (_, i) => `SELECT ${i}`).join(" UNION ALL ");
      assert.equal(sql.exec(terms(5)).toArray().length, 5, "five terms per compound SELECT");
      if (RUNTIME !== "node") {
        // Node 22's node:sqlite cannot lower the limit; Deno's and Bun's can.
        assert.throws(() => sql.exec(terms(6)), /too many terms in compound SELECT/);
      }
      assert.ok(sql.databaseSize > 0);
    }));

  test("transactionSync commits, rolls back on a throw, and nests", () =>
    withStorage((storage) => {
      const { sql } = storage;
      sql.exec("CREATE TABLE n (x)");
      const count = () => sql.exec("SELECT count(*) AS c FROM n").one().c;
      assert.equal(storage.transactionSync(() => sql.exec("INSERT INTO n VALUES (1)") && 7), 7);
      assert.throws(() =>
        storage.transactionSync(() => {
          sql.exec("INSERT INTO n VALUES (2)");
          throw new Error("boom");
        }), /boom/);
      assert.equal(count(), 1, "the failed transaction left nothing");
      storage.transactionSync(() => {
        sql.exec("INSERT INTO n VALUES (3)");
        assert.throws(() =>
          storage.transactionSync(() => {
            sql.exec("INSERT INTO n VALUES (4)");
            throw new Error("inner");
          }), /inner/);
        storage.transactionSync(() => sql.exec("INSERT INTO n VALUES (5)"));
      });
      assert.deepEqual(sql.exec("SELECT x FROM n ORDER BY x").toArray(), [
        { x: 1 },
        { x: 3 },
        { x: 5 },
      ]);
      assert.throws(() => storage.transactionSync(() => Promise.resolve(1)), /must be synchronous/);
      assert.equal(count(), 3);
      assert.equal(storage.counters.transactions, 4, "nested calls are not new transactions");
    }));

  test("the queue over the driver writes through transactionSync only", () =>
    withStorage(async (storage) => {
      const queue = await TaskQueue.open({ database: durableObjectDriver(storage) });
      await queue.enqueueMany(
        Array.from({ length: 20 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
      );
      const claimed = await queue.dequeueMany(20);
      const before = storage.counters.transactions;
      const results = await queue.completeMany(claimed.map((task) => ({ task })));
      assert.equal(storage.counters.transactions - before, 1, "a batch is one transaction");
      assert.ok(results.every((r) => r.status === "fulfilled"));
      assert.equal((await queue.getQueueStats()).completed, 20);
      await queue.close();
      assert.equal(storage.sql.exec("SELECT count(*) AS n FROM tasks").one().n, 20, "left open");
    }));
});
