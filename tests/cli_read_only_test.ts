/**
 * The `tasklite` CLI's read commands (`stats`, `list`, `show`, `schedules`) open the file
 * read-only: a file that is not a queue is refused and left byte for byte as it was, and so is a
 * queue they read (no `-wal`/`-shm` left behind). Also `retry-failed` in batches and `--version`.
 * Through real processes of the current runtime on real files, as `cli_test.ts`.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { StorageError, TaskQueue } from "../mod.ts";
import { main } from "../cli.ts";
import { runScript, tempDir } from "./_helpers.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const SLOW = { timeout: 120_000 };

/** Runs `tasklite <args>` in a process. */
const cli = (...args: string[]) => runScript(CLI, args);

/** The file's bytes and which of its side files exist. */
function snapshot(path: string) {
  return {
    bytes: readFileSync(path),
    side: ["-wal", "-shm", "-journal"].filter((suffix) => existsSync(path + suffix)),
  };
}

/** Asserts that the file is as `before` says, side files included. */
function assertUnchanged(path: string, before: ReturnType<typeof snapshot>, what: string) {
  const after = snapshot(path);
  assert.ok(before.bytes.equals(after.bytes), `${what}: the file's bytes changed`);
  assert.deepEqual(after.side, before.side, `${what}: side files`);
}

/** An application's SQLite database (not a queue), closed; `wal` puts it in WAL mode. */
async function appDatabase(path: string, wal: boolean): Promise<void> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(path);
  if (wal) db.exec("PRAGMA journal_mode = WAL");
  db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
  db.exec("INSERT INTO users (name) VALUES ('ada')");
  db.close();
}

const READS = [["stats"], ["list", "pending"], ["show", "1"], ["schedules"]] as const;

describe("tasklite CLI read commands", () => {
  test("refuse a file that is not a queue and change nothing", SLOW, async () => {
    const tmp = tempDir();
    try {
      const rollback = tmp.file("myapp.db");
      const wal = tmp.file("walapp.db");
      const empty = tmp.file("empty.db");
      await appDatabase(rollback, false);
      await appDatabase(wal, true);
      writeFileSync(empty, "");
      for (const file of [rollback, wal, empty]) {
        const before = snapshot(file);
        const results = await Promise.all(READS.map((args) => cli(...args, "--db", file)));
        for (const [i, result] of results.entries()) {
          const what = `${READS[i]!.join(" ")} on ${file}`;
          assert.equal(result.code, 1, `${what}: ${result.stderr}`);
          assert.equal(result.stdout, "", what);
          assert.match(
            result.stderr,
            /^tasklite: Cannot open .+ read-only: .*not a tasklite queue.*\n$/,
            what,
          );
          assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
        }
        assertUnchanged(file, before, file);
      }
      // A missing file is an error for them, and is not created.
      const missing = tmp.file("missing.db");
      const absent = await cli("stats", "--db", missing);
      assert.equal(absent.code, 1);
      assert.match(absent.stderr, /^tasklite: No queue at .*missing\.db: the file does not exist/);
      assert.equal(existsSync(missing), false);
      // Write commands keep refusing a foreign file, unchanged too (checked before configuring).
      const before = snapshot(rollback);
      const enqueued = await cli("enqueue", "job", "--db", rollback);
      assert.equal(enqueued.code, 1, enqueued.stderr);
      assert.match(enqueued.stderr, /not a tasklite queue/);
      assertUnchanged(rollback, before, "enqueue");
    } finally {
      tmp.cleanup();
    }
  });

  test("read a queue without writing it, closed or in use", SLOW, async () => {
    const tmp = tempDir();
    try {
      const db = tmp.file("tasks.db");
      let queue = await TaskQueue.open(db);
      await queue.enqueue({ name: "Welcome Ada", taskType: "send_email" });
      await queue.schedule("nightly", "0 3 * * *", { taskType: "cleanup" });
      await queue.close();
      const before = snapshot(db);
      assert.deepEqual(before.side, [], "a closed queue has no -wal or -shm");
      const [stats, list, show, schedules] = await Promise.all([
        cli("stats", "--db", db),
        cli("list", "pending", "--db", db),
        cli("show", "1", "--db", db),
        cli("schedules", "--db", db),
      ]);
      assert.equal(stats.code, 0, stats.stderr);
      assert.match(stats.stdout, /^pending +1$/m);
      assert.match(list.stdout, /^1 +pending +NORMAL +send_email +Welcome Ada$/m);
      assert.equal(JSON.parse(show.stdout).name, "Welcome Ada");
      assert.match(schedules.stdout, /^nightly +0 3 \* \* \*/m);
      assertUnchanged(db, before, "read commands");

      // While another process writes it: the reads see its commits in the WAL.
      queue = await TaskQueue.open(db);
      try {
        await queue.enqueue({ name: "Second", taskType: "send_email" });
        const live = await cli("stats", "--json", "--db", db);
        assert.equal(live.code, 0, live.stderr);
        assert.equal(JSON.parse(live.stdout).pending, 2);
      } finally {
        await queue.close();
      }
      assert.deepEqual(snapshot(db).side, [], "the writer's close removed the WAL");
    } finally {
      tmp.cleanup();
    }
  });
});

describe("TaskQueue.open({ readOnly: true })", () => {
  test("reads, refuses writes with StorageError readonly, writes nothing", SLOW, async () => {
    const tmp = tempDir();
    try {
      const db = tmp.file("tasks.db");
      const writer = await TaskQueue.open(db);
      await writer.enqueue({ name: "one", taskType: "job" });
      await writer.close();
      const before = snapshot(db);
      const reader = await TaskQueue.open(db, { readOnly: true });
      try {
        assert.equal((await reader.getQueueStats()).pending, 1);
        await assert.rejects(
          reader.enqueue({ name: "two", taskType: "job" }),
          (error) => error instanceof StorageError && error.code === "readonly",
        );
        await assert.rejects(
          reader.dequeue(),
          (error) => error instanceof StorageError && error.code === "readonly",
        );
      } finally {
        await reader.close();
      }
      assertUnchanged(db, before, "read-only queue");
      await assert.rejects(
        TaskQueue.open(tmp.file("none.db"), { readOnly: true }),
        (error) => error instanceof StorageError && /no file at .*none\.db/.test(error.message),
      );
      assert.equal(existsSync(tmp.file("none.db")), false);
      await assert.rejects(TaskQueue.open(":memory:", { readOnly: true }), TypeError);
      await assert.rejects(TaskQueue.open(db, { readOnly: "yes" as never }), TypeError);
    } finally {
      tmp.cleanup();
    }
  });

  test("refuses a queue whose schema is older, saying to open it read-write", SLOW, async () => {
    const tmp = tempDir();
    try {
      const db = tmp.file("old.db");
      await (await TaskQueue.open(db)).close();
      // Forget the last migration: to this version, the schema is one behind.
      const { DatabaseSync } = await import("node:sqlite");
      const raw = new DatabaseSync(db);
      raw.exec(
        "DELETE FROM tasklite_migrations WHERE version = (SELECT max(version) FROM tasklite_migrations)",
      );
      raw.close();
      const before = snapshot(db);
      await assert.rejects(
        TaskQueue.open(db, { readOnly: true }),
        (error) =>
          error instanceof StorageError && error.code === "readonly" &&
          /older than this tasklite's .*open it read-write once/.test(error.message),
      );
      assertUnchanged(db, before, "old schema");
    } finally {
      tmp.cleanup();
    }
  });
});

describe("tasklite retry-failed and --version", () => {
  test(
    "retry-failed redrives every failed task in batches and says what remains",
    SLOW,
    async () => {
      const tmp = tempDir();
      try {
        const db = tmp.file("dead.db");
        const queue = await TaskQueue.open(db);
        const fail = async (taskType: string, count: number) => {
          await queue.enqueueMany(
            Array.from({ length: count }, (_, i) => ({ name: `${taskType} ${i}`, taskType })),
          );
          await Promise.all(Array.from({ length: count }, async () => {
            const task = (await queue.dequeue({ taskTypes: [taskType] }))!;
            await queue.failTask(task, new Error("no"), { retry: false });
          }));
        };
        await fail("a", 2300);
        await fail("b", 5);
        await queue.close();
        assert.equal(
          (await cli("retry-failed", "--task-type", "a", "--limit", "1500", "--db", db)).stdout,
          "1500 redriven, 800 remaining\n",
        );
        // In process, as on a terminal: a progress line, cleared before the result.
        let out = "";
        const code = await main(["retry-failed", "--db", db, "--json"], {
          stdout: (text) => (out += text),
          stderr: (text) => assert.fail(text),
          isTerminal: true,
        });
        assert.equal(code, 0);
        assert.ok(out.startsWith("\r805 redriven…\r\x1b[K{"), JSON.stringify(out));
        assert.deepEqual(JSON.parse(out.slice(out.indexOf("{"))), { redriven: 805, remaining: 0 });
        const stats = await cli("stats", "--json", "--db", db);
        assert.deepEqual(
          { pending: JSON.parse(stats.stdout).pending, failed: JSON.parse(stats.stdout).failed },
          { pending: 2305, failed: 0 },
        );
        assert.equal((await cli("retry-failed", "--db", db)).stdout, "0 redriven, 0 remaining\n");
      } finally {
        tmp.cleanup();
      }
    },
  );

  test("--version prints the package version", SLOW, async () => {
    const root = new URL("../", import.meta.url);
    const denoJson = JSON.parse(readFileSync(new URL("deno.json", root), "utf8"));
    const packageJson = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
    assert.equal(packageJson.version, denoJson.version, "package.json and deno.json agree");
    const result = await cli("--version");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${denoJson.version}\n`);
    assert.match(result.stdout, /^\d+\.\d+\.\d+/);
  });
});
