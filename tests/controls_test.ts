import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue } from "../mod.ts";
import { FakeClock, memoryQueue, tempDir } from "./_helpers.ts";

describe("pause and resume", () => {
  test("a paused task type is not claimed; others are", async () => {
    const { queue } = await memoryQueue();
    const [email, sms] = await queue.enqueueMany([
      { name: "e", taskType: "email", priority: 4 },
      { name: "s", taskType: "sms" },
    ]);
    await queue.pause("email");
    assert.equal((await queue.dequeue())?.id, sms);
    assert.equal(await queue.dequeue(), null);
    await queue.resume("email");
    assert.equal((await queue.dequeue())?.id, email);
    await queue.close();
  });

  test("pausing the whole queue stops every claim; resuming keeps per-type pauses", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueueMany([{ name: "a", taskType: "a" }, { name: "b", taskType: "b" }]);
    await queue.pause("b");
    await queue.pause();
    assert.equal(await queue.dequeue(), null);
    assert.deepEqual((await queue.getControls()).map((c) => c.taskType).sort(), ["*", "b"]);
    await queue.resume();
    assert.equal((await queue.dequeue())?.taskType, "a");
    assert.equal(await queue.dequeue(), null, "b is still paused");
    await queue.resume("b");
    assert.deepEqual(await queue.getControls(), [], "nothing left to say");
    await queue.close();
  });

  test("pauses are persisted and seen by every connection", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("p.db");
      const a = await TaskQueue.open(path);
      await a.enqueue({ name: "n", taskType: "t" });
      await a.pause("t");
      await a.close();
      const b = await TaskQueue.open(path);
      const c = await TaskQueue.open(path);
      assert.equal(await b.dequeue(), null);
      await c.resume("t");
      assert.equal((await b.dequeue())?.taskType, "t");
      await b.close();
      await c.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe("limits per task type", () => {
  test("concurrency: at most N running at once", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ name: `v${i}`, taskType: "video_encode" })),
    );
    await queue.enqueue({ name: "other", taskType: "other" });
    await queue.setLimits("video_encode", { concurrency: 2 });
    const first = await queue.dequeueMany(10);
    assert.deepEqual(first.map((t) => t.taskType).sort(), [
      "other",
      "video_encode",
      "video_encode",
    ]);
    assert.equal(await queue.dequeue(), null);
    await queue.completeTask(first.find((t) => t.taskType === "video_encode")!);
    assert.equal((await queue.dequeueMany(10)).length, 1, "one slot freed, one claimed");
    await queue.setLimits("video_encode", {});
    assert.equal((await queue.dequeueMany(10)).length, 2, "limit cleared");
    await queue.close();
  });

  test("rate: at most N claims per interval, sliding", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueueMany(
      Array.from({ length: 30 }, (_, i) => ({ name: `${i}`, taskType: "external_api" })),
    );
    await queue.setLimits("external_api", { rate: { max: 10, intervalMs: 1000 } });
    const claims = async () => {
      const tasks = await queue.dequeueMany(100);
      for (const task of tasks) await queue.completeTask(task);
      return tasks.length;
    };
    assert.equal(await claims(), 10);
    clock.advance(500);
    assert.equal(await claims(), 0, "the window still holds 10 claims");
    clock.advance(500);
    assert.equal(await claims(), 10, "the first claims left the window");
    clock.advance(999);
    assert.equal(await claims(), 0);
    clock.advance(1);
    assert.equal(await claims(), 10);
    await queue.close();
  });

  test("limits are checked and persisted", async () => {
    const { queue } = await memoryQueue();
    await assert.rejects(queue.setLimits("t", { concurrency: 0 }), /concurrency must be >= 1/);
    await assert.rejects(
      queue.setLimits("t", { rate: { max: 5, intervalMs: 0 } }),
      /rate\.intervalMs must be >= 1/,
    );
    await assert.rejects(queue.setLimits("*", { concurrency: 1 }), /not "\*"/);
    await assert.rejects(queue.pause(""), /Invalid task type/);
    assert.deepEqual(await queue.getControls(), []);
    await queue.setLimits("t", { concurrency: 3, rate: { max: 5, intervalMs: 100 } });
    assert.deepEqual(await queue.getControls(), [{
      taskType: "t",
      pausedAt: null,
      concurrency: 3,
      rate: { max: 5, intervalMs: 100 },
    }]);
    await queue.close();
  });

  test("two connections share one rate limit", async () => {
    const tmp = tempDir();
    try {
      const clock = new FakeClock();
      const path = tmp.file("r.db");
      const a = await TaskQueue.open(path, { clock: clock.fn });
      const b = await TaskQueue.open(path, { clock: clock.fn });
      await a.enqueueMany(
        Array.from({ length: 20 }, (_, i) => ({ name: `${i}`, taskType: "api" })),
      );
      await a.setLimits("api", { rate: { max: 4, intervalMs: 1000 } });
      const got = (await a.dequeueMany(3)).length + (await b.dequeueMany(3)).length;
      assert.equal(got, 4);
      await a.close();
      await b.close();
    } finally {
      tmp.cleanup();
    }
  });
});
