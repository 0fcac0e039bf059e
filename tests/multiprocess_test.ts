import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus } from "../mod.ts";
import { fixture, runScript, tempDir } from "./_helpers.ts";

describe("several processes on one file", () => {
  test("3 processes, 2,000 tasks: each runs exactly once", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("shared.db");
      const queue = await TaskQueue.open(path);
      const TOTAL = 2000;
      await queue.enqueueMany(
        Array.from(
          { length: TOTAL },
          (_, n) => ({ name: `job ${n}`, taskType: "job", payload: { n } }),
        ),
      );
      const go = tmp.file("go");
      const outs = [1, 2, 3].map((i) => tmp.file(`out-${i}.json`));
      const children = outs.map((out) =>
        runScript(fixture("worker_process.ts"), [path, go, out, "4"])
      );
      await new Promise((resolve) => setTimeout(resolve, 300)); // let them open the file
      writeFileSync(go, "");
      const results = await Promise.all(children);
      for (const result of results) assert.equal(result.code, 0, result.stderr);

      const perProcess = outs.map((out) => JSON.parse(readFileSync(out, "utf8")) as number[]);
      const all = perProcess.flat();
      assert.equal(all.length, TOTAL, "handler runs in total");
      assert.equal(new Set(all).size, TOTAL, "no task ran twice");
      for (const ran of perProcess) assert.ok(ran.length > 0, "every process did some work");
      console.log(`runs per process: ${perProcess.map((ran) => ran.length).join(", ")}`);
      const stats = await queue.getQueueStats();
      assert.deepEqual(stats, {
        pending: 0,
        running: 0,
        completed: TOTAL,
        failed: 0,
        cancelled: 0,
      });
      const workers = new Set(
        (await queue.getTasksByStatus(TaskStatus.COMPLETED, 10_000)).map((t) => t.workerId),
      );
      assert.equal(workers.size, 3);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a task left running by a dead process comes back after its lease", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("crash.db");
      let queue = await TaskQueue.open(path);
      const id = await queue.enqueue({ name: "survivor", taskType: "job", maxRetries: 1 });
      await queue.close();

      const crash = await runScript(fixture("crash_process.ts"), [path, "60000"]);
      assert.equal(crash.code, 3, crash.stderr);
      assert.deepEqual(JSON.parse(crash.stdout.trim().split("\n").at(-1)!), { claimed: id });

      let now = Date.now();
      queue = await TaskQueue.open(path, { clock: () => now });
      const held = (await queue.getTask(id))!;
      assert.equal(held.status, TaskStatus.RUNNING);
      assert.match(held.workerId!, /^crasher-/);
      assert.equal(await queue.dequeue(), null, "not before the lease runs out");
      now = held.leaseExpiresAt!;
      const task = (await queue.dequeue({ workerId: "rescuer" }))!;
      assert.equal(task.id, id);
      assert.equal(task.retryCount, 1, "the crashed run counts as a failed attempt");
      assert.equal(task.attempts, 2);
      await queue.completeTask(task, "recovered");
      assert.equal((await queue.getTask(id))!.status, TaskStatus.COMPLETED);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });
});
