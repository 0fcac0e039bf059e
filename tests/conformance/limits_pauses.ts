/**
 * Conformance: pauses and per-type limits. A paused type (or a paused queue) is not claimed; a
 * concurrency limit caps running tasks of a type and a rate limit its claims per sliding window,
 * within one claim of many as across claims and connections.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the pause and limit cases. */
export function limitsPauses(suite: Suite): void {
  suite.test("a paused task type is not claimed; others are", async (h) => {
    const queue = await h.open();
    const [email, sms] = await queue.enqueueMany([
      { name: "e", taskType: "email", priority: 4 },
      { name: "s", taskType: "sms" },
    ]);
    await queue.pause("email");
    assert.equal((await queue.dequeue())?.id, sms);
    assert.equal(await queue.dequeue(), null);
    await queue.resume("email");
    assert.equal((await queue.dequeue())?.id, email);
  });

  suite.test("pausing the whole queue stops every claim; resuming keeps per-type pauses", async (h) => {
    const queue = await h.open();
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
  });

  suite.test("a pause stops claims within one claim of many, and only of its type", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([
      ...Array.from({ length: 3 }, (_, i) => ({ name: `r${i}`, taskType: "report", priority: 4 })),
      ...Array.from({ length: 3 }, (_, i) => ({ name: `e${i}`, taskType: "email" })),
    ]);
    await queue.pause("report");
    const claimed = await queue.dequeueMany(10);
    assert.deepEqual(claimed.map((t) => t.taskType), ["email", "email", "email"]);
    assert.deepEqual(await queue.dequeueMany(10, { taskTypes: ["report"] }), []);
    const [control] = await queue.getControls();
    assert.deepEqual(control, {
      taskType: "report",
      pausedAt: h.clock.now,
      concurrency: null,
      rate: null,
      concurrencyPerKey: null,
      ratePerKey: null,
    });
  });

  suite.test("a pause leaves running tasks alone; pause and resume are idempotent", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    const running = (await queue.dequeue())!;
    await queue.pause("t");
    await queue.pause("t");
    await queue.heartbeat(running);
    assert.equal((await queue.completeTask(running, "ok")).status, TaskStatus.COMPLETED);
    assert.equal(await queue.dequeue(), null);
    await queue.resume("t");
    await queue.resume("t");
    await queue.resume("never-paused");
    assert.equal((await queue.dequeue())?.name, "b");
    assert.deepEqual(await queue.getControls(), []);
  });

  suite.test("pauses are persisted and seen by every connection", async (h) => {
    const a = await h.open();
    await a.enqueue({ name: "n", taskType: "t" });
    await a.pause("t");
    await a.close();
    const b = await h.reopen(a);
    const c = await h.reopen(a);
    assert.equal(await b.dequeue(), null);
    await c.resume("t");
    assert.equal((await b.dequeue())?.taskType, "t");
  }, { needs: "reopen" });

  suite.test("concurrency: at most N running at once", async (h) => {
    const queue = await h.open();
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
  });

  suite.test("concurrency within one claim of many: dequeueMany(10) with a limit of 2 claims 2", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 10 }, (_, i) => ({ name: `${i}`, taskType: "encode" })),
    );
    await queue.setLimits("encode", { concurrency: 2 });
    const claimed = await queue.dequeueMany(10);
    assert.deepEqual(claimed.map((t) => t.id), ids.slice(0, 2), "the first two, in order");
    assert.deepEqual(await queue.dequeueMany(10), []);
    assert.equal((await queue.getQueueStats()).running, 2);
  });

  suite.test("a concurrency slot frees when a running task fails, is released or expires", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({ name: `${i}`, taskType: "t", maxRetries: 0 })),
    );
    await queue.setLimits("t", { concurrency: 1 });
    const first = (await queue.dequeueMany(5, { leaseMs: 100 }))[0]!;
    assert.equal(await queue.dequeue(), null);
    await queue.failTask(first, "down");
    const second = (await queue.dequeueMany(5))[0]!;
    await queue.release(second);
    const third = (await queue.dequeueMany(5, { leaseMs: 100 }))!;
    assert.equal(third.length, 1);
    assert.equal(third[0]!.id, second.id, "the released task comes first");
    h.clock.advance(100);
    const fourth = await queue.dequeueMany(5);
    assert.equal(fourth.length, 1, "the expired lease freed the slot");
    assert.notEqual(fourth[0]!.id, second.id, "the expired task ran out of retries");
    assert.equal((await queue.getTask(second.id))!.status, TaskStatus.FAILED);
  });

  suite.test("rate: at most N claims per interval, sliding", async (h) => {
    const queue = await h.open();
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
    h.clock.advance(500);
    assert.equal(await claims(), 0, "the window still holds 10 claims");
    h.clock.advance(500);
    assert.equal(await claims(), 10, "the first claims left the window");
    h.clock.advance(999);
    assert.equal(await claims(), 0);
    h.clock.advance(1);
    assert.equal(await claims(), 10);
  });

  suite.test("rate within one claim of many, spread over the window", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany(
      Array.from({ length: 10 }, (_, i) => ({ name: `${i}`, taskType: "api" })),
    );
    await queue.setLimits("api", { rate: { max: 3, intervalMs: 1000 } });
    assert.equal((await queue.dequeueMany(10)).length, 3);
    h.clock.advance(400);
    assert.equal(await queue.dequeue(), null);
    h.clock.advance(600);
    assert.equal((await queue.dequeueMany(1)).length, 1);
    assert.equal((await queue.dequeueMany(10)).length, 2, "the window had room for 3 again");
    assert.equal((await queue.dequeueMany(10)).length, 0);
  });

  suite.test("both limits at once: the tighter one holds", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany(
      Array.from({ length: 10 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    await queue.setLimits("t", { concurrency: 2, rate: { max: 3, intervalMs: 1000 } });
    const first = await queue.dequeueMany(10);
    assert.equal(first.length, 2, "concurrency is tighter");
    for (const task of first) await queue.completeTask(task);
    assert.equal((await queue.dequeueMany(10)).length, 1, "now the rate is");
  });

  suite.test("limits apply per type, under taskTypes filters too", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([
      ...Array.from({ length: 4 }, (_, i) => ({ name: `a${i}`, taskType: "a", priority: 4 })),
      ...Array.from({ length: 4 }, (_, i) => ({ name: `b${i}`, taskType: "b" })),
    ]);
    await queue.setLimits("a", { concurrency: 1 });
    assert.equal((await queue.dequeueMany(10, { taskTypes: ["a"] })).length, 1);
    const rest = await queue.dequeueMany(10);
    assert.deepEqual(rest.map((t) => t.taskType), ["b", "b", "b", "b"]);
  });

  suite.test("limits are checked and persisted", async (h) => {
    const queue = await h.open();
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
      concurrencyPerKey: null,
      ratePerKey: null,
    }]);
  });

  suite.test("limits and pauses survive a restart", async (h) => {
    const a = await h.open();
    await a.setLimits("t", { concurrency: 1, rate: { max: 2, intervalMs: 60_000 } });
    await a.pause("p");
    const controls = await a.getControls();
    await a.enqueueMany([
      { name: "1", taskType: "t" },
      { name: "2", taskType: "t" },
      { name: "3", taskType: "t" },
      { name: "p", taskType: "p" },
    ]);
    await a.completeTask((await a.dequeue())!);
    await a.close();
    const b = await h.reopen(a);
    assert.deepEqual(await b.getControls(), controls);
    const claimed = await b.dequeueMany(10);
    assert.equal(claimed.length, 1, "one claim left in the rate window, none of the paused type");
    assert.equal(claimed[0]!.taskType, "t");
    await b.completeTask(claimed[0]!);
    assert.deepEqual(await b.dequeueMany(10), [], "the window's claims were kept");
  }, { needs: "reopen" });

  suite.test("two connections share one rate limit", async (h) => {
    const a = await h.open();
    const b = await h.reopen(a);
    await a.enqueueMany(
      Array.from({ length: 20 }, (_, i) => ({ name: `${i}`, taskType: "api" })),
    );
    await a.setLimits("api", { rate: { max: 4, intervalMs: 1000 } });
    const got = (await a.dequeueMany(3)).length + (await b.dequeueMany(3)).length;
    assert.equal(got, 4);
  }, { needs: "reopen" });

  suite.test("two connections share one concurrency limit", async (h) => {
    const a = await h.open();
    const b = await h.reopen(a);
    await a.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ name: `${i}`, taskType: "t" })));
    await b.setLimits("t", { concurrency: 3 });
    const got = (await a.dequeueMany(2)).length + (await b.dequeueMany(5)).length;
    assert.equal(got, 3);
    assert.deepEqual(await a.dequeueMany(5), []);
  }, { needs: "reopen" });
}
