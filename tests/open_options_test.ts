/**
 * `TaskQueue.open` checks every option before it touches the disk: a bad one throws a
 * `ValidationError` naming it, and no file (nor its `-wal`/`-shm`) is created, in the given
 * folder or, without a path, as `tasks.db` in the working directory.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { describe, test } from "node:test";
import { TaskQueue, ValidationError } from "../mod.ts";
import { OpenOptionsSchema } from "../src/_validation.ts";
import { tempDir } from "./_helpers.ts";

/** For each open option, bad values and what the error must say. */
const BAD: Record<string, [unknown, RegExp][]> = {
  path: [["", /path must be a non-empty string/], [5, /path must be a non-empty string/]],
  database: [[5, /database must be a node:sqlite DatabaseSync/]],
  driver: [["sqlite3", /driver must be "node:sqlite" or "bun:sqlite"/]],
  synchronous: [["SOMETIMES", /synchronous must be OFF, NORMAL, FULL or EXTRA/]],
  busyTimeoutMs: [[0, /busyTimeoutMs must be a positive integer/]],
  integrityCheck: [["always", /integrityCheck must be/]],
  readOnly: [["yes", /readOnly must be a boolean/]],
  postgres: [["mysql://h/db", /postgres must be a postgres:\/\/ URL or a postgres\.js client/]],
  schema: [["Tasks; DROP", /schema must be a schema name/], ["", /schema must be a schema name/]],
  leaseMs: [[1.5, /leaseMs must be a positive integer/], [-1, /leaseMs must be/]],
  backoff: [
    [{ jitter: 2 }, /backoff\.jitter must be a number between 0 and 1/],
    [{ baseMs: -1 }, /backoff\.baseMs must be a finite number >= 0/],
    [{ factor: Number.NaN }, /backoff\.factor must be a finite number >= 0/],
    [{ maxMs: Infinity }, /backoff\.maxMs must be a finite number >= 0/],
    [{ random: 0.5 }, /backoff\.random must be a function/],
    [{ base_ms: 10 }, /backoff\.base_ms is not a known option/],
    ["fast", /backoff must be backoff options .* or a function/],
  ],
  clock: [[5, /clock must be a Clock/], [{ now: () => 1 }, /clock/]],
  clockToleranceMs: [[0, /clockToleranceMs must be a positive integer/]],
  notifier: [[{ notify: () => {} }, /notifier/]],
  logger: [[{ info: () => {} }, /logger\.debug/]],
  retention: [
    [{ olderThanMs: -1 }, /retention\.olderThanMs must be >= 0/],
    [{ olderThanMs: 1, statuses: ["pending"] }, /retention\.statuses/],
  ],
};

describe("open options", () => {
  test("every option has bad values in this test", () => {
    assert.deepEqual(Object.keys(BAD).sort(), Object.keys(OpenOptionsSchema.entries).sort());
  });

  test("a bad option throws a ValidationError and creates no file", async () => {
    const tmp = tempDir();
    const defaultFileExisted = existsSync("tasks.db");
    try {
      for (const [option, cases] of Object.entries(BAD)) {
        for (const [value, message] of cases) {
          const what = `${option}: ${String(value)}`;
          // A path of its own for every option but path itself (and database, which has none).
          const base = option === "path" || option === "database" ? {} : { path: tmp.file("q.db") };
          await assert.rejects(TaskQueue.open({ ...base, [option]: value }), (error: unknown) => {
            assert.ok(error instanceof ValidationError, `${what}: ${error} is a ValidationError`);
            assert.match(error.message, /^Invalid open options: /, what);
            assert.match(error.message, message, what);
            return true;
          });
          assert.deepEqual(readdirSync(tmp.dir), [], `${what}: no file was created`);
        }
      }
      // Without a path the default file is tasks.db in the working directory: not created either.
      await assert.rejects(TaskQueue.open({ backoff: { jitter: 2 } }), ValidationError);
      await assert.rejects(TaskQueue.open({ leaseMs: 0 }), ValidationError);
      assert.equal(existsSync("tasks.db"), defaultFileExisted, "no tasks.db in the working dir");
    } finally {
      tmp.cleanup();
    }
  });

  test("the valid forms of the same options open the queue", async () => {
    const tmp = tempDir();
    try {
      const queue = await TaskQueue.open(tmp.file("q.db"), {
        backoff: { baseMs: 10, factor: 3, maxMs: 1000, jitter: 0, random: () => 0 },
        leaseMs: 1000,
        busyTimeoutMs: 100,
        clockToleranceMs: 1000,
        retention: { olderThanMs: 0, statuses: ["completed"] },
      });
      await queue.close();
      const custom = await TaskQueue.open(tmp.file("q.db"), { backoff: (n) => n * 10 });
      await custom.close();
      assert.ok(readdirSync(tmp.dir).includes("q.db"));
    } finally {
      tmp.cleanup();
    }
  });
});
