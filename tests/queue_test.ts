// The queue's engine-independent behaviour (ordering, leases, retries, cancel and redrive, unique
// keys, stats, persistence) is in the conformance suite: tests/conformance/, run by
// tests/conformance_test.ts for every engine. What stays here is specific to opening SQLite files.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue } from "../mod.ts";
import { tempDir } from "./_helpers.ts";

describe("opening a SQLite queue", () => {
  test("open() without a path uses tasks.db in the working directory", async () => {
    const tmp = tempDir();
    const cwd = process.cwd();
    try {
      process.chdir(tmp.dir);
      const queue = await TaskQueue.open();
      await queue.enqueue({ name: "n", taskType: "t" });
      await queue.close();
      const again = await TaskQueue.open(tmp.file("tasks.db"));
      assert.equal((await again.getQueueStats()).pending, 1);
      await again.close();
    } finally {
      process.chdir(cwd);
      tmp.cleanup();
    }
  });

  test("open({ path }) opens the same file as open(path)", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("tasks.db");
      const queue = await TaskQueue.open(path);
      const id = await queue.enqueue({ name: "n", taskType: "t", payload: { n: 1 } });
      await queue.close();
      const again = await TaskQueue.open({ path });
      assert.deepEqual((await again.getTask(id))!.payload, { n: 1 });
      await again.close();
    } finally {
      tmp.cleanup();
    }
  });
});
