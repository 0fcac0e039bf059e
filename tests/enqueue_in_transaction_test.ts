/**
 * Enqueueing inside the application's own transaction on a SQLite queue that shares its handle
 * (`TaskQueue.open({ database })`): commit → the task exists, runs, is announced after the commit;
 * rollback → no task, no event, no wake-up; a failed enqueue leaves the application's transaction
 * as it was (SAVEPOINT); the queue's own calls wait for the transaction instead of joining it; a
 * drizzle transaction over the same connection. On node:sqlite (every runtime) and bun:sqlite
 * (Bun). PostgreSQL's `{ transaction: tx }` is tested in postgres_notify_test.ts.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type NodeSqliteDatabase,
  type Notifier,
  StorageError,
  TaskQueue,
  ValidationError,
  Worker,
} from "../mod.ts";
import { RUNTIME } from "./_helpers.ts";
import { fakeDurableObjectStorage } from "./conformance/_durable_object_storage.ts";

/** The part of both bindings' handles the tests use. */
type Db = NodeSqliteDatabase;

/** A notifier that records what it was told. */
function recordingNotifier(): Notifier & { told: string[][] } {
  const told: string[][] = [];
  return {
    told,
    notify: (taskTypes) => void told.push([...taskTypes]),
    listen: () => () => {},
  };
}

/** Long enough for the queue's poll of the transaction's end (≤ 50 ms apart) and its read-back. */
const afterTheWatch = () => sleep(150);

const BINDINGS: { name: string; open?: () => Promise<Db> }[] = [
  {
    name: "node:sqlite",
    open: () => Promise.resolve(new DatabaseSync(":memory:") as unknown as Db),
  },
  {
    name: "bun:sqlite",
    ...(RUNTIME === "bun"
      ? {
        open: async () => {
          const specifier = "bun:sqlite";
          const { Database } = await import(specifier);
          return new Database(":memory:") as unknown as Db;
        },
      }
      : {}),
  },
];

for (const binding of BINDINGS) {
  describe(`enqueue in the application's transaction (${binding.name})`, () => {
    const it = (name: string, fn: (db: Db) => Promise<void>) =>
      test(name, async (t) => {
        if (!binding.open) {
          t.skip(`${binding.name}: "${name}" needs Bun (running on ${RUNTIME})`);
          return;
        }
        const db = await binding.open();
        try {
          db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
          await fn(db);
        } finally {
          try {
            db.close();
          } catch {
            // closed by the test already
          }
        }
      });

    it("commit: the row and the task commit together; announced only after COMMIT", async (db) => {
      const notifier = recordingNotifier();
      const queue = await TaskQueue.open({ database: db, notifier });
      const events: number[] = [];
      queue.on("enqueued", (event) => void events.push(event.taskId));
      try {
        db.exec("BEGIN IMMEDIATE");
        db.prepare("INSERT INTO users (email) VALUES (?)").run("a@example.com" as never);
        const ids = await queue.enqueueMany([
          { name: "Welcome", taskType: "email", payload: { user: 1 } },
          { name: "Audit", taskType: "audit" },
        ], { transaction: true });
        assert.deepEqual(ids, [1, 2]);
        const id = await queue.enqueue({ name: "Third", taskType: "email" }, {
          transaction: true,
        });
        assert.equal(id, 3);
        await afterTheWatch();
        assert.deepEqual(events, [], "nothing announced while the transaction is open");
        assert.deepEqual(notifier.told, []);
        db.exec("COMMIT");
        await afterTheWatch();
        assert.deepEqual(events.sort(), [1, 2, 3]);
        assert.deepEqual(notifier.told.flat().sort(), ["audit", "email", "email"]);
        assert.equal((await queue.getQueueStats()).pending, 3);
        const ran: unknown[] = [];
        const worker = new Worker(queue, {
          handlers: { email: (payload) => void ran.push(payload), audit: () => null },
          concurrency: 3,
        });
        assert.equal(await worker.tick(), 3);
        assert.deepEqual(ran.length, 2);
        assert.equal((await queue.getQueueStats()).completed, 3);
      } finally {
        await queue.close();
      }
    });

    it("rollback: no row, no task, no event, no wake-up", async (db) => {
      const notifier = recordingNotifier();
      const queue = await TaskQueue.open({ database: db, notifier });
      const events: number[] = [];
      queue.on("enqueued", (event) => void events.push(event.taskId));
      try {
        db.exec("BEGIN IMMEDIATE");
        db.prepare("INSERT INTO users (email) VALUES (?)").run("a@example.com" as never);
        await queue.enqueue({ name: "Welcome", taskType: "email" }, { transaction: true });
        db.exec("ROLLBACK");
        // A task enqueued afterwards takes the freed id: the rolled-back one is still not announced.
        const next = await queue.enqueue({ name: "Later", taskType: "other" });
        assert.equal(next, 1);
        await afterTheWatch();
        assert.deepEqual(events, [1]);
        assert.deepEqual(notifier.told, [["other"]]);
        assert.deepEqual(db.prepare("SELECT * FROM users").all(), []);
        const stats = await queue.getQueueStats();
        assert.equal(stats.pending, 1);
        assert.equal((await queue.getTask(1))?.name, "Later");
      } finally {
        await queue.close();
      }
    });

    it("a failed enqueue leaves the application's transaction as it was (SAVEPOINT)", async (db) => {
      const queue = await TaskQueue.open({ database: db });
      try {
        // The second insert fails after the first one succeeded (each keyed task is a statement).
        db.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON tasks WHEN NEW.name = 'boom'
          BEGIN SELECT RAISE(ABORT, 'boom refused'); END`);
        db.exec("BEGIN IMMEDIATE");
        db.prepare("INSERT INTO users (email) VALUES (?)").run("a@example.com" as never);
        await assert.rejects(
          queue.enqueueMany([
            { name: "ok", taskType: "t", uniqueKey: "a" },
            { name: "boom", taskType: "t", uniqueKey: "b" },
          ], { transaction: true }),
          /boom refused/,
        );
        db.exec("COMMIT");
        assert.equal(db.prepare("SELECT * FROM users").all().length, 1, "the app's row committed");
        assert.equal((await queue.getQueueStats()).pending, 0, "no task of the failed call");
      } finally {
        db.exec("DROP TRIGGER IF EXISTS refuse_boom");
        await queue.close();
      }
    });

    it("bad input, or no open transaction: a ValidationError, nothing written", async (db) => {
      const queue = await TaskQueue.open({ database: db });
      try {
        await assert.rejects(
          queue.enqueue({ name: "n", taskType: "t" }, { transaction: true }),
          (error: unknown) =>
            error instanceof ValidationError && /no transaction is open/.test(error.message),
        );
        db.exec("BEGIN IMMEDIATE");
        await assert.rejects(
          queue.enqueueMany([{ name: "n", taskType: "t" }, { name: "", taskType: "t" }], {
            transaction: true,
          }),
          ValidationError,
        );
        for (const where of [{ transaction: false }, { transaction: {} }, { transaction: 1 }]) {
          await assert.rejects(
            // deno-lint-ignore no-explicit-any
            queue.enqueue({ name: "n", taskType: "t" }, where as any),
            ValidationError,
          );
        }
        db.exec("COMMIT");
        assert.equal((await queue.getQueueStats()).pending, 0);
      } finally {
        await queue.close();
      }
    });

    it("the queue's own calls wait for the transaction instead of joining it", async (db) => {
      const queue = await TaskQueue.open({ database: db });
      try {
        db.exec("BEGIN IMMEDIATE");
        await queue.enqueue({ name: "inside", taskType: "t" }, { transaction: true });
        let settled = false;
        const outside = queue.enqueue({ name: "outside", taskType: "t" }).finally(() => {
          settled = true;
        });
        const claim = queue.dequeue();
        await sleep(30);
        assert.equal(settled, false, "an enqueue of its own waits for the app's transaction");
        db.exec("ROLLBACK");
        const id = await outside;
        const claimed = await claim;
        assert.equal((await queue.getTask(id))?.name, "outside", "its own commit, not rolled back");
        assert.equal(claimed?.name, "outside");
        assert.equal((await queue.getQueueStats()).running, 1);
      } finally {
        await queue.close();
      }
    });

    it("a queue closed before its watch of the transaction ends stops watching", async (db) => {
      const queue = await TaskQueue.open({ database: db });
      db.exec("BEGIN IMMEDIATE");
      await queue.enqueue({ name: "inside", taskType: "t" }, { transaction: true });
      await sleep(30); // the watch polls less and less often
      db.exec("ROLLBACK");
      await queue.close();
      db.close(); // its next poll would throw on the closed database
      await afterTheWatch();
    });

    it("a transaction left open past busyTimeoutMs fails the queue's calls as busy", async (db) => {
      const queue = await TaskQueue.open({ database: db, busyTimeoutMs: 40 });
      try {
        db.exec("BEGIN IMMEDIATE");
        await assert.rejects(
          queue.enqueue({ name: "outside", taskType: "t" }),
          (error: unknown) => error instanceof StorageError && error.code === "busy",
        );
        db.exec("COMMIT");
        assert.equal((await queue.getQueueStats()).pending, 0);
      } finally {
        await queue.close();
      }
    });
  });
}

describe("enqueue in a drizzle transaction", () => {
  test("sqlite-proxy over node:sqlite: commit and rollback", async () => {
    const { drizzle } = await import("drizzle-orm/sqlite-proxy");
    const { integer, sqliteTable, text } = await import("drizzle-orm/sqlite-core");
    const db = new DatabaseSync(":memory:");
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
    const users = sqliteTable("users", { id: integer("id").primaryKey(), email: text("email") });
    const orm = drizzle((sql, params, method) => {
      const statement = db.prepare(sql);
      if (method === "run") {
        statement.run(...params as never[]);
        return Promise.resolve({ rows: [] });
      }
      statement.setReturnArrays(true);
      const rows = statement.all(...params as never[]) as unknown as unknown[][];
      return Promise.resolve({ rows: method === "get" ? rows[0] ?? [] : rows } as never);
    });
    const queue = await TaskQueue.open({ database: db });
    const events: number[] = [];
    queue.on("enqueued", (event) => void events.push(event.taskId));
    try {
      await orm.transaction(async (tx) => {
        await tx.insert(users).values({ email: "a@example.com" });
        await queue.enqueue({ name: "Welcome", taskType: "email" }, { transaction: tx });
      });
      await assert.rejects(
        orm.transaction(async (tx) => {
          await tx.insert(users).values({ email: "b@example.com" });
          await queue.enqueue({ name: "Never", taskType: "email" }, { transaction: tx });
          tx.rollback();
        }),
      );
      await afterTheWatch();
      assert.deepEqual((await orm.select().from(users)).map((u) => u.email), ["a@example.com"]);
      assert.equal((await queue.getQueueStats()).pending, 1);
      assert.equal((await queue.getTask(1))?.name, "Welcome");
      assert.deepEqual(events, [1]);
    } finally {
      await queue.close();
      db.close();
    }
  });

  test("bun-sqlite (Bun): a synchronous transaction callback enqueues too", async (t) => {
    if (RUNTIME !== "bun") {
      t.skip(`bun:sqlite: drizzle bun-sqlite test needs Bun (running on ${RUNTIME})`);
      return;
    }
    const { drizzle } = await import("drizzle-orm/bun-sqlite");
    const { integer, sqliteTable, text } = await import("drizzle-orm/sqlite-core");
    const specifier = "bun:sqlite";
    const { Database } = await import(specifier);
    const db = new Database(":memory:");
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
    const users = sqliteTable("users", { id: integer("id").primaryKey(), email: text("email") });
    const orm = drizzle({ client: db });
    const queue = await TaskQueue.open({ database: db });
    try {
      let pending: Promise<number> | undefined;
      orm.transaction((tx) => {
        tx.insert(users).values({ email: "a@example.com" }).run();
        // Written before enqueue returns: the callback commits both when it returns.
        pending = queue.enqueue({ name: "Welcome", taskType: "email" }, { transaction: tx });
      }, { behavior: "immediate" });
      assert.equal(await pending, 1);
      assert.throws(() =>
        orm.transaction((tx) => {
          tx.insert(users).values({ email: "b@example.com" }).run();
          void queue.enqueue({ name: "Never", taskType: "email" }, { transaction: tx });
          throw new Error("the app changes its mind");
        })
      );
      assert.equal(orm.select().from(users).all().length, 1);
      assert.equal((await queue.getQueueStats()).pending, 1);
    } finally {
      await queue.close();
      db.close();
    }
  });
});

describe("enqueue in a Durable Object's transactionSync (fake storage)", () => {
  test("commit and rollback of the callback; announced only after a commit", async () => {
    const storage = fakeDurableObjectStorage(":memory:");
    const queue = await TaskQueue.open({ database: storage });
    const events: string[] = [];
    queue.on("enqueued", (event) => void events.push(event.name));
    try {
      storage.sql.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
      let kept: Promise<number> | undefined;
      storage.transactionSync(() => {
        storage.sql.exec("INSERT INTO users (email) VALUES (?)", "a@example.com");
        // Written before enqueue returns (a nested transactionSync: the platform's savepoint).
        kept = queue.enqueue({ name: "kept", taskType: "email" }, { transaction: true });
      });
      assert.equal(await kept, 1);
      assert.throws(() =>
        storage.transactionSync(() => {
          storage.sql.exec("INSERT INTO users (email) VALUES (?)", "b@example.com");
          void queue.enqueue({ name: "dropped", taskType: "email" }, { transaction: true });
          throw new Error("the app changes its mind");
        })
      );
      await afterTheWatch();
      assert.deepEqual(events, ["kept"]);
      assert.equal(storage.sql.exec("SELECT count(*) AS n FROM users").one().n, 1);
      assert.deepEqual((await queue.getTasksByStatus("pending")).map((t) => t.name), ["kept"]);
    } finally {
      await queue.close();
      storage.close();
    }
  });
});
