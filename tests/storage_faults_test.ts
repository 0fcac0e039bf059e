/**
 * Storage faults fail loudly, typed, and leave the file intact: a full disk, a lock another
 * process holds, a file that is corrupt or not a queue, and a close that leaves no WAL behind.
 * Real files on every runtime; a second process holds the lock; the full disk is
 * `PRAGMA max_page_count` on the queue's own connection (a caller's handle).
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import {
  type SqliteBinding,
  type SqliteDriver,
  StorageError,
  TaskQueue,
  ValidationError,
} from "../mod.ts";
import { immediate } from "../src/drivers/_file.ts";
import { fixture, RUNTIME, scriptCommand, tempDir } from "./_helpers.ts";

/** The bindings this runtime has: node:sqlite everywhere, bun:sqlite on Bun. */
const BINDINGS: SqliteBinding[] = RUNTIME === "bun"
  ? ["node:sqlite", "bun:sqlite"]
  : ["node:sqlite"];

/** A raw connection of the binding, to hand to the queue (so the test can set its PRAGMAs). */
async function rawDatabase(binding: SqliteBinding, path: string) {
  if (binding === "node:sqlite") return new DatabaseSync(path);
  const specifier = "bun:sqlite";
  const { Database } = await import(specifier);
  return new Database(path, { create: true, strict: false });
}

function pragma(db: { prepare(sql: string): { get(): unknown } }, sql: string): unknown {
  return Object.values(db.prepare(sql).get() as Record<string, unknown>)[0];
}

function isStorageError(code: StorageError["code"]) {
  return (error: unknown) => {
    assert.ok(error instanceof StorageError, `a StorageError, not ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const payload = { blob: "x".repeat(3000) };

describe("a full disk", () => {
  for (const binding of BINDINGS) {
    test(`${binding}: fails typed, writes nothing, and the same queue works once space frees`, async () => {
      const tmp = tempDir();
      const db = await rawDatabase(binding, tmp.file("full.db"));
      try {
        const queue = await TaskQueue.open({ database: db });
        await queue.enqueue({ name: "first", taskType: "job" });
        db.exec(`PRAGMA max_page_count = ${Number(pragma(db, "PRAGMA page_count")) + 4}`);
        let full: unknown = null;
        let stored = 1;
        for (let i = 0; i < 100 && full === null; i++) {
          const pair = [0, 1].map((k) => ({ name: `fill ${i}.${k}`, taskType: "job", payload }));
          await queue.enqueueMany(pair).then(() => (stored += 2), (error) => (full = error));
        }
        assert.ok(full !== null, "the file filled up");
        isStorageError("full")(full);
        const cause = (full as StorageError).cause as Error;
        assert.ok(cause instanceof Error, "the driver's error is the cause");
        assert.doesNotMatch((full as Error).message, /no transaction is active/);
        assert.equal(
          (await queue.getQueueStats()).pending,
          stored,
          "the failed enqueue wrote nothing",
        );

        // A batch (several enqueues in one turn, and an enqueueMany) fails whole: none half-written.
        const many = Array.from(
          { length: 5 },
          (_, i) => ({ name: `m${i}`, taskType: "job", payload }),
        );
        const results = await Promise.allSettled([
          ...many.map((task) => queue.enqueue(task)),
          queue.enqueueMany(many),
        ]);
        for (const result of results) {
          assert.equal(result.status, "rejected");
          isStorageError("full")((result as PromiseRejectedResult).reason);
        }
        assert.equal((await queue.getQueueStats()).pending, stored, "nothing of the batch written");

        // Space frees: the same queue object works again, without a reopen.
        db.exec("PRAGMA max_page_count = 1073741823");
        await queue.enqueueMany(many);
        const task = await queue.dequeue();
        assert.ok(task);
        await queue.completeTask(task, "done");
        const stats = await queue.getQueueStats();
        assert.equal(stats.pending + stats.running, stored + 5 - 1);
        assert.equal(stats.completed, 1);
        await queue.close();
      } finally {
        db.close();
        tmp.cleanup();
      }
    });
  }
  for (const binding of BINDINGS) {
    test(`${binding}: a transaction SQLite rolled back itself still reports full`, async () => {
      // SQLITE_FULL in a statement without a statement journal (a plain INSERT here, a write to
      // a full disk in life) makes SQLite roll the whole transaction back; the ROLLBACK after it
      // used to fail ("no transaction is active") and hide the real error. The wrapper runs such
      // an INSERT, on the queue's connection, at the start of every transaction while armed.
      const tmp = tempDir();
      const db = await rawDatabase(binding, tmp.file("rolled.db"));
      let armed = false;
      const driver: SqliteDriver = {
        name: `filling ${binding}`,
        exec: (sql) => db.exec(sql),
        prepare(sql) {
          const statement = db.prepare(sql);
          return {
            all: (params) => statement.all(...params),
            get: (params) => statement.get(...params) ?? undefined,
            run: (params) => Number(statement.run(...params).changes),
          };
        },
        transaction: (fn) =>
          immediate(db, () => {
            if (armed) db.exec("INSERT INTO filler VALUES (randomblob(1000000))");
            return fn();
          }),
      };
      try {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("CREATE TABLE filler (x)");
        const queue = await TaskQueue.open({ database: driver });
        await queue.enqueue({ name: "first", taskType: "job" });
        db.exec(`PRAGMA max_page_count = ${Number(pragma(db, "PRAGMA page_count")) + 2}`);
        armed = true;
        const pair = [0, 1].map((k) => ({ name: `t${k}`, taskType: "job" }));
        await assert.rejects(queue.enqueueMany(pair), (error: unknown) => {
          isStorageError("full")(error);
          assert.doesNotMatch((error as Error).message, /no transaction is active/);
          return true;
        });
        assert.equal(db.isTransaction ?? db.inTransaction, false, "nothing left open");
        assert.equal((await queue.getQueueStats()).pending, 1, "nothing written");
        armed = false;
        await queue.enqueueMany(pair);
        assert.equal((await queue.getQueueStats()).pending, 3, "the same queue works again");
        await queue.close();
      } finally {
        db.close();
        tmp.cleanup();
      }
    });
  }
});

/**
 * A real full file system: a 1 MB tmpfs, where the commit itself fails (the WAL cannot grow), not
 * the page allocation that `max_page_count` refuses. Needs root and `mount`; skips visibly without.
 */
function mountTmpfs(dir: string): boolean {
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
  return mounted.status === 0;
}

describe("a full file system (tmpfs)", () => {
  for (const binding of BINDINGS) {
    test(`${binding}: every acknowledged enqueue is stored; the first refused one is a StorageError full`, async (t) => {
      const tmp = tempDir();
      if (!mountTmpfs(tmp.dir)) {
        tmp.cleanup();
        t.skip(`${binding}: a full file system: cannot mount a tmpfs here (needs root and mount)`);
        return;
      }
      const db = await rawDatabase(binding, tmp.file("full.db"));
      const queue = await TaskQueue.open({ database: db });
      try {
        const acknowledged: number[] = [];
        let refused: unknown = null;
        for (let i = 0; i < 5000 && refused === null; i++) {
          try {
            acknowledged.push(await queue.enqueue({ name: `t${i}`, taskType: "job", payload }));
          } catch (error) {
            refused = error;
          }
        }
        isStorageError("full")(refused);
        for (const id of acknowledged) {
          assert.ok(await queue.getTask(id), `acknowledged task ${id} is stored`);
        }
      } finally {
        await queue.close().catch(() => {});
        db.close();
        spawnSync("umount", [tmp.dir]);
        tmp.cleanup();
      }
    });
  }
});

describe("close", () => {
  for (const binding of BINDINGS) {
    test(`${binding}: checkpoints the WAL: no -wal file is left, a fresh open sees every task`, async () => {
      const tmp = tempDir();
      try {
        const path = tmp.file("wal.db");
        const queue = await TaskQueue.open({ path, driver: binding });
        await queue.enqueueMany(
          Array.from({ length: 200 }, (_, i) => ({ name: `t${i}`, taskType: "job", payload })),
        );
        await queue.close();
        assert.ok(
          !existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0,
          "the WAL is checkpointed and gone",
        );
        assert.ok(statSync(path).size > 200 * 3000, "the tasks are in the database file itself");
        const raw = new DatabaseSync(path, { readOnly: true } as never);
        assert.equal(pragma(raw, "SELECT count(*) FROM tasks"), 200);
        raw.close();
        const again = await TaskQueue.open({ path, driver: binding });
        assert.equal((await again.getQueueStats()).pending, 200);
        await again.close();
      } finally {
        tmp.cleanup();
      }
    });
  }
});

describe("opening a file that is not a sound queue", () => {
  test("a file of random bytes is refused as corrupt and left unchanged", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("random.db");
      const bytes = new Uint8Array(16384).map((_, i) => (i * 7919 + 13) % 251);
      writeFileSync(path, bytes);
      for (const binding of BINDINGS) {
        await assert.rejects(TaskQueue.open({ path, driver: binding }), isStorageError("corrupt"));
      }
      assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
      assert.ok(!existsSync(`${path}-wal`));
    } finally {
      tmp.cleanup();
    }
  });

  test("a SQLite database of another application is refused and left byte for byte", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("other.db");
      const other = new DatabaseSync(path);
      other.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
      other.exec("INSERT INTO customers (name) VALUES ('Ada'), ('Grace')");
      other.close();
      const before = readFileSync(path);
      for (const binding of BINDINGS) {
        await assert.rejects(TaskQueue.open({ path, driver: binding }), (error: unknown) => {
          isStorageError("corrupt")(error);
          assert.match((error as Error).message, /not a tasklite queue/);
          return true;
        });
      }
      assert.deepEqual(readFileSync(path), before, "not one byte changed");
      assert.ok(!existsSync(`${path}-wal`));
    } finally {
      tmp.cleanup();
    }
  });

  test("a caller's own open database may hold the application's tables", async () => {
    const db = new DatabaseSync(":memory:");
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)");
    const queue = await TaskQueue.open({ database: db });
    await queue.enqueue({ name: "Job", taskType: "job" });
    assert.equal((await queue.getQueueStats()).pending, 1);
    await queue.close();
    db.close();
  });

  test("a 0-byte file is a new queue, as SQLite treats it as an empty database", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("empty.db");
      writeFileSync(path, new Uint8Array(0));
      const queue = await TaskQueue.open(path);
      await queue.enqueue({ name: "Job", taskType: "job" });
      assert.equal((await queue.getQueueStats()).pending, 1);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a page of the tasks table overwritten with garbage: open rejects with corrupt", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("torn.db");
      const queue = await TaskQueue.open(path);
      await queue.enqueueMany(
        Array.from({ length: 300 }, (_, i) => ({ name: `t${i}`, taskType: "job", payload })),
      );
      await queue.close();
      const raw = new DatabaseSync(path);
      const root = Number(pragma(raw, "SELECT rootpage FROM sqlite_master WHERE name = 'tasks'"));
      const pageSize = Number(pragma(raw, "PRAGMA page_size"));
      raw.close();
      const bytes = readFileSync(path);
      bytes.fill(0xa5, (root - 1) * pageSize + 8, root * pageSize - 8);
      writeFileSync(path, bytes);
      for (const binding of BINDINGS) {
        for (const integrityCheck of ["quick", "full"] as const) {
          await assert.rejects(
            TaskQueue.open({ path, driver: binding, integrityCheck }),
            isStorageError("corrupt"),
          );
        }
      }
      assert.deepEqual(readFileSync(path), bytes, "the refused file is left as it was");
    } finally {
      tmp.cleanup();
    }
  });

  test("a file in a folder that does not exist: StorageError io, nothing created", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("missing/queue.db");
      for (const binding of BINDINGS) {
        await assert.rejects(TaskQueue.open({ path, driver: binding }), isStorageError("io"));
      }
      assert.ok(!existsSync(tmp.file("missing")));
    } finally {
      tmp.cleanup();
    }
  });

  test("an unknown integrityCheck is bad input: a ValidationError, and no file is created", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("never.db");
      await assert.rejects(
        TaskQueue.open({ path, integrityCheck: "sometimes" as never }),
        ValidationError,
      );
      assert.ok(!existsSync(path));
    } finally {
      tmp.cleanup();
    }
  });
});

/** Spawns a process that holds the file's write lock for `holdMs`; resolves once it holds it. */
async function holdLock(path: string, holdMs: number) {
  const [command, argv] = scriptCommand(fixture("lock_holder.ts"), [path, String(holdMs)]);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("locked")) resolve();
    });
    child.on("error", reject);
    void exited.then((code) => reject(new Error(`the lock holder exited (${code}): ${out}`)));
  });
  return { exited };
}

describe("a database another process holds locked", () => {
  test("waits without freezing the event loop, then the enqueue goes through", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("busy.db");
      const queue = await TaskQueue.open(path);
      await queue.enqueue({ name: "before", taskType: "job" });
      const lock = await holdLock(path, 1500);
      const ticks: number[] = [];
      const interval = setInterval(() => ticks.push(performance.now()), 20);
      try {
        const id = await queue.enqueue({ name: "during", taskType: "job" });
        const raw = new DatabaseSync(path);
        assert.equal(
          pragma(raw, "PRAGMA user_version"),
          42,
          "it went through after the holder committed",
        );
        raw.close();
        assert.equal((await queue.getTask(id))?.name, "during");
      } finally {
        clearInterval(interval);
      }
      // The interval kept ticking while the enqueue waited (SQLite blocks at most 50 ms at a time).
      const gaps = ticks.slice(1).map((at, i) => at - ticks[i]!);
      assert.ok(ticks.length >= 15, `the interval ticked ${ticks.length} times in ~1.5 s`);
      assert.ok(Math.max(...gaps) < 500, `the longest gap was ${Math.round(Math.max(...gaps))} ms`);
      assert.equal(await lock.exited, 0);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a lock held past busyTimeoutMs fails with StorageError busy; the queue works after", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("locked.db");
      const queue = await TaskQueue.open(path, { busyTimeoutMs: 300 });
      await queue.enqueue({ name: "before", taskType: "job" });
      const lock = await holdLock(path, 1500);
      const results = await Promise.allSettled([
        queue.enqueue({ name: "a", taskType: "job" }),
        queue.enqueue({ name: "b", taskType: "job" }),
        queue.dequeue(),
      ]);
      for (const result of results) {
        assert.equal(result.status, "rejected");
        isStorageError("busy")((result as PromiseRejectedResult).reason);
      }
      const raw = new DatabaseSync(path);
      assert.equal(pragma(raw, "PRAGMA user_version"), 0, "they gave up while the lock was held");
      raw.close();
      assert.equal(await lock.exited, 0);
      assert.equal((await queue.getQueueStats()).pending, 1, "the refused enqueues wrote nothing");
      await queue.enqueue({ name: "after", taskType: "job" });
      assert.equal((await queue.getQueueStats()).pending, 2);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });
});
