/**
 * `tasklite explain <id>` and `tasklite workers` on a queue file, through real processes of the
 * current runtime: their lines, their JSON, their exit codes; both only read the file.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue } from "../mod.ts";
import { tempDir } from "./_helpers.ts";
import { assertNoStack, assertUsage, cli, SLOW } from "./_cli_helpers.ts";

describe("tasklite explain and workers", () => {
  test("explain says why, workers lists the registry, and neither writes", SLOW, async () => {
    const tmp = tempDir();
    try {
      const db = tmp.file("why.db");
      const queue = await TaskQueue.open(db);
      const later = Date.now() + 3_600_000;
      const id = await queue.enqueue({ name: "Nightly", taskType: "report", scheduledAt: later });
      await queue.pause("report");
      await queue.registerWorker({
        id: "box-1",
        host: "box",
        pid: 7,
        runtime: "deno 2.0.0",
        taskTypes: ["email"],
        concurrency: 3,
        startedAt: Date.now(),
        beatIntervalMs: 60_000,
      });
      await queue.close();

      const why = await cli("explain", String(id), "--db", db);
      assert.equal(why.code, 0, why.stderr);
      assert.equal(
        why.stdout,
        [
          `Task ${id} (report: Nightly): pending, not runnable now`,
          `- not_due: Task ${id} is not due until ${new Date(later).toISOString()}`,
          `- type_paused: Task type "report" is paused (since ${
            /since (\S+)\)/.exec(why.stdout)?.[1]
          })`,
          `- no_worker: No live worker is registered for task type "report"`,
          "",
        ].join("\n"),
      );
      const json = await cli("explain", String(id), "--db", db, "--json");
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.task.id, id);
      assert.equal(parsed.runnable, false);
      assert.deepEqual(parsed.reasons.map((r: { code: string }) => r.code), [
        "not_due",
        "type_paused",
        "no_worker",
      ]);

      const workers = await cli("workers", "--db", db);
      assert.equal(workers.code, 0, workers.stderr);
      assert.match(
        workers.stdout,
        /^box-1\s+alive\s+deno 2\.0\.0\s+box:7\s+email\s+x3\s+beat \S+Z\n$/,
      );
      const listed = JSON.parse((await cli("workers", "--db", db, "--json")).stdout);
      assert.deepEqual(listed.map((w: { id: string; alive: boolean }) => [w.id, w.alive]), [
        ["box-1", true],
      ]);

      const missing = await cli("explain", "99", "--db", db);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Cannot explain task 99: no such task/);
      assertNoStack(missing.stderr);
      assertUsage(
        await cli("explain", "abc", "--db", db),
        /Invalid task id/,
        "tasklite explain --help",
      );

      const after = await TaskQueue.open(db);
      assert.equal((await after.getQueueStats()).pending, 1, "nothing changed");
      assert.equal((await after.workers()).length, 1);
      await after.close();
    } finally {
      tmp.cleanup();
    }
  });
});
