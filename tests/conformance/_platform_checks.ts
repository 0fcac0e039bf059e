/**
 * What the fake Durable Object storage (`_durable_object_storage.ts`) claims to share with the
 * platform, as checks over any storage with the Durable Object SQL API: `tests/conformance_test.ts`
 * runs them on the fake, and `tests/cloudflare_test.ts` runs them inside workerd on a real Durable
 * Object's storage (`tests/fixtures/cloudflare_conformance/`), so the fake cannot drift from the
 * platform unseen. Each check gets fresh, empty storage.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A cursor of the Durable Object SQL API. */
export interface PlatformCursor extends Iterable<Record<string, unknown>> {
  toArray(): Record<string, unknown>[];
  one(): Record<string, unknown>;
  raw(): Iterable<unknown[]>;
  readonly rowsWritten: number;
}

/** The storage the checks run on: a real Durable Object's `ctx.storage`, or the fake. */
export interface PlatformStorage {
  readonly sql: {
    exec(query: string, ...bindings: unknown[]): PlatformCursor;
    readonly databaseSize: number;
  };
  transactionSync<T>(fn: () => T): T;
}

/** What the storage can be asked beyond the API. */
export interface PlatformOptions {
  /** Whether the compound SELECT limit is enforced (not by the fake on Node 22). */
  compoundLimit: boolean;
}

/** One check: its name, and its body over fresh storage. */
export interface PlatformCheck {
  readonly name: string;
  run(storage: PlatformStorage, options: PlatformOptions): void;
}

/** The checks, in order. */
export const PLATFORM_CHECKS: readonly PlatformCheck[] = [
  {
    name: "exec refuses transaction statements, wherever they are in the text",
    run({ sql }) {
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
              "To execute a transaction, please use the state.storage.transaction() or " +
                "state.storage.transactionSync() APIs",
            ),
            error.message,
          );
          return true;
        }, statement);
      }
      assert.deepEqual(sql.exec("SELECT * FROM a").toArray(), [], "the statement before it ran");
      for (const empty of ["", "  \n ", "/* only a comment */", "SELECT 1; -- and a comment"]) {
        assert.throws(() => sql.exec(empty), /SQL code did not contain a statement/, empty);
      }
      assert.deepEqual(sql.exec("SELECT 1 AS one;  \n").toArray(), [{ one: 1 }], "spaces after ;");
    },
  },
  {
    name: "exec runs several statements, keeps trigger bodies whole, and counts writes",
    run({ sql }) {
      sql.exec(`
        CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT DEFAULT ';'); -- a comment; with a semicolon
        CREATE TABLE log (v TEXT);
        CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
          INSERT INTO log VALUES (CASE WHEN new.v = 'x' THEN 'x;' ELSE 'other' END);
        END;`);
      const insert = sql.exec("INSERT INTO t (v) VALUES (?), (?) RETURNING id", "x", "y");
      assert.deepEqual(insert.toArray(), [{ id: 1 }, { id: 2 }]);
      assert.equal(insert.rowsWritten, 4, "two rows and the trigger's two");
      assert.deepEqual(sql.exec("SELECT v FROM log ORDER BY rowid").toArray(), [
        { v: "x;" },
        { v: "other" },
      ]);
      const last = sql.exec("UPDATE t SET v = 'z'; SELECT count(*) AS n FROM t WHERE v = ?", "z");
      assert.deepEqual(last.one(), { n: 2 }, "the last statement takes the bindings");
      assert.equal(last.rowsWritten, 0, "the cursor counts the last statement's writes only");
      assert.deepEqual([...sql.exec("SELECT id FROM t ORDER BY id")], [{ id: 1 }, { id: 2 }]);
      assert.deepEqual([...sql.exec("SELECT id, v FROM t WHERE id = 1").raw()], [[1, "z"]]);
    },
  },
  {
    name: "exec checks bindings and results as the platform does",
    run({ sql }, options) {
      sql.exec("CREATE TABLE b (x)");
      assert.throws(() => sql.exec("INSERT INTO b VALUES (?)"), /Wrong number of parameter/);
      assert.throws(() => sql.exec("INSERT INTO b VALUES (?)", 1, 2), /Wrong number of parameter/);
      assert.throws(() => sql.exec("INSERT INTO b VALUES (?)", 1n), TypeError);
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
      if (options.compoundLimit) {
        assert.throws(() => sql.exec(terms(6)), /too many terms in compound SELECT/);
      }
      assert.ok(sql.databaseSize > 0);
    },
  },
  {
    name: "transactionSync commits, rolls back on a throw, and nests",
    run(storage) {
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
      assert.equal(count(), 3);
    },
  },
];
