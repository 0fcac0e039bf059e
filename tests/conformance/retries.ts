/**
 * Conformance: completing and failing attempts. A failure retries after the backoff (or the
 * task's own policy, or the delay the caller chose) while retries are left, then ends `failed`;
 * every attempt's error is kept.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskNotFoundError, TaskStateError, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the completion, failure and retry cases. */
export function retries(suite: Suite): void {
  suite.test("complete stores the result and the completion time", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    h.clock.advance(250);
    const done = await queue.completeTask(task, { sent: true });
    assert.equal(done.status, TaskStatus.COMPLETED);
    assert.deepEqual(done.result, { sent: true });
    assert.equal(done.completedAt, h.clock.now);
    assert.equal(done.leaseExpiresAt, null);
    assert.deepEqual((await queue.getTask(task.id))?.result, { sent: true });
  });

  suite.test("complete by id works on a running task and refuses a pending one", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.completeTask(id), (error: unknown) => {
      assert.ok(error instanceof TaskStateError);
      assert.equal(error.message, `Cannot complete task ${id}: it is pending`);
      return true;
    });
    await queue.dequeue();
    assert.equal((await queue.completeTask(id)).result, null);
    await assert.rejects(queue.completeTask(999), TaskNotFoundError);
  });

  suite.test("fail by id refuses tasks that are not running, and unknown ids", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.failTask(id, "x"), TaskStateError);
    await assert.rejects(queue.heartbeat(id), TaskStateError);
    await assert.rejects(queue.failTask(999, "x"), TaskNotFoundError);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING);
    assert.equal(task.retryCount, 0);
    assert.deepEqual(task.errors, []);
  });

  suite.test("a task runs at most maxRetries + 1 times, with growing delays, then FAILED", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "flaky", taskType: "api", maxRetries: 2 });
    const delays: number[] = [];
    let runs = 0;
    for (;;) {
      let task = await queue.dequeue();
      if (!task) {
        const pending = (await queue.getTask(id))!;
        if (pending.status !== TaskStatus.PENDING) break;
        delays.push(pending.scheduledAt - h.clock.now);
        h.clock.now = pending.scheduledAt;
        task = (await queue.dequeue())!;
      }
      runs++;
      await queue.failTask(task, new Error(`boom ${runs}`));
    }
    const task = (await queue.getTask(id))!;
    assert.equal(runs, 3);
    assert.deepEqual(delays, [1000, 2000]);
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.retryCount, 3);
    assert.equal(task.error, "boom 3");
    assert.equal(task.failedAt, h.clock.now);
    assert.equal(task.completedAt, h.clock.now);
  });

  suite.test("a retried task waits, pending and invisible, until its backoff is over", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const failed = await queue.failTask((await queue.dequeue())!, "down");
    assert.equal(failed.status, TaskStatus.PENDING);
    assert.equal(failed.scheduledAt, h.clock.now + 1000);
    assert.equal(failed.completedAt, null);
    assert.equal(failed.leaseExpiresAt, null);
    h.clock.advance(999);
    assert.equal(await queue.dequeue(), null);
    h.clock.advance(1);
    const again = (await queue.dequeue())!;
    assert.equal(again.id, id);
    assert.equal(again.retryCount, 1);
    assert.equal(again.attempts, 2);
  });

  suite.test("every failed attempt is kept: attempt, error and time", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 1 });
    const t1 = h.clock.now;
    await queue.failTask((await queue.dequeue())!, new Error("first"));
    h.clock.advance(1000);
    const t2 = h.clock.now;
    const dead = await queue.failTask((await queue.dequeue())!, "second");
    assert.equal(dead.status, TaskStatus.FAILED);
    assert.deepEqual(dead.errors, [
      { attempt: 1, error: "first", at: t1 },
      { attempt: 2, error: "second", at: t2 },
    ]);
    assert.deepEqual((await queue.getTask(id))!.errors, dead.errors);
  });

  suite.test("maxRetries 0 fails on the first error; retry: false skips retries", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "once", taskType: "t", maxRetries: 0 });
    const once = await queue.failTask((await queue.dequeue())!, "nope");
    assert.equal(once.status, TaskStatus.FAILED);
    await queue.enqueue({ name: "fatal", taskType: "t", maxRetries: 9 });
    const fatal = await queue.failTask((await queue.dequeue())!, "bad input", { retry: false });
    assert.equal(fatal.status, TaskStatus.FAILED);
    assert.equal(fatal.retryCount, 1);
  });

  suite.test("retryDelayMs overrides the backoff for one retry", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const failed = await queue.failTask((await queue.dequeue())!, "later", { retryDelayMs: 42 });
    assert.equal(failed.status, TaskStatus.PENDING);
    assert.equal(failed.scheduledAt, h.clock.now + 42);
    h.clock.advance(41);
    assert.equal(await queue.dequeue(), null, "the retry is not due before its delay");
    h.clock.advance(1);
    const now = await queue.failTask((await queue.dequeue())!, "now", { retryDelayMs: 0 });
    assert.equal(now.scheduledAt, h.clock.now, "a zero delay is due at once");
    const last = await queue.failTask((await queue.dequeue())!, "no", {
      retry: false,
      retryDelayMs: 5,
    });
    assert.equal(last.status, TaskStatus.FAILED, "retry: false wins over a delay");
  });

  suite.test("a task's own retry policy sets its delays", async (h) => {
    const queue = await h.open();
    const fixed = await queue.enqueue({
      name: "f",
      taskType: "t",
      retry: { type: "fixed", delayMs: 7 },
    });
    const exponential = await queue.enqueue({
      name: "e",
      taskType: "t",
      retry: { type: "exponential", baseMs: 100, factor: 3, jitter: 0 },
    });
    const delays = new Map<number, number[]>([[fixed, []], [exponential, []]]);
    for (let round = 0; round < 3; round++) {
      h.clock.advance(10_000);
      for (const task of await queue.dequeueMany(2)) {
        const failed = await queue.failTask(task, "x");
        delays.get(task.id)!.push(failed.scheduledAt - h.clock.now);
      }
    }
    assert.deepEqual(delays.get(fixed), [7, 7, 7]);
    assert.deepEqual(delays.get(exponential), [100, 300, 900]);
  });

  suite.test("the backoff has jitter by default, bounded by the curve", async (h) => {
    const queue = await h.open({ backoff: undefined });
    const ids = await queue.enqueueMany(
      Array.from({ length: 20 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    for (const task of await queue.dequeueMany(20)) await queue.failTask(task, "x");
    const delays = await Promise.all(
      ids.map(async (id) => (await queue.getTask(id))!.scheduledAt - h.clock.now),
    );
    assert.ok(delays.every((d) => d >= 500 && d <= 1000), `delays ${delays}`);
    assert.ok(new Set(delays).size > 1, "jitter spreads the retries");
  });

  suite.test("a custom backoff function is used", async (h) => {
    const queue = await h.open({ backoff: (n) => n * 7 });
    await queue.enqueue({ name: "n", taskType: "t" });
    const failed = await queue.failTask((await queue.dequeue())!, "x");
    assert.equal(failed.scheduledAt, h.clock.now + 7);
  });

  suite.test("retryFailed() redrives dead letters in bulk, by task type", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany([
      { name: "a", taskType: "email", maxRetries: 0 },
      { name: "b", taskType: "email", maxRetries: 0 },
      { name: "c", taskType: "sms", maxRetries: 0 },
    ]);
    for (const task of await queue.dequeueMany(3)) await queue.failTask(task, "down");
    const retried: number[] = [];
    queue.on("retried", ({ task }) => retried.push(task.id));
    const redriven = await queue.retryFailed({ taskType: "email" });
    assert.deepEqual(redriven.map((t) => t.id), ids.slice(0, 2));
    assert.deepEqual(retried, ids.slice(0, 2));
    assert.equal((await queue.getTask(ids[2]!))!.status, TaskStatus.FAILED);
    assert.deepEqual((await queue.retryFailed()).map((t) => t.id), [ids[2]]);
    assert.deepEqual(await queue.retryFailed(), []);
    assert.equal((await queue.getQueueStats()).pending, 3);
  });

  suite.test("retryFailed() takes the oldest first, up to its limit", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ name: `${i}`, taskType: "t", maxRetries: 0 })),
    );
    for (const task of await queue.dequeueMany(5)) await queue.failTask(task, "down");
    assert.deepEqual((await queue.retryFailed({ limit: 2 })).map((t) => t.id), ids.slice(0, 2));
    assert.equal((await queue.getQueueStats()).failed, 3);
    assert.deepEqual(
      (await queue.retryFailed({ taskType: "other" })).map((t) => t.id),
      [],
      "no dead letters of that type",
    );
  });

  suite.test("bad policies are refused at enqueue", async (h) => {
    const queue = await h.open();
    await assert.rejects(
      queue.enqueue({ name: "n", taskType: "t", retry: { type: "linear" } as never }),
      /retry\.type must be \{ type: "fixed"/,
    );
    await assert.rejects(
      queue.enqueue({ name: "n", taskType: "t", retry: { type: "fixed", delayMs: -1 } }),
      /retry\.delayMs must be >= 0/,
    );
    assert.equal((await queue.getQueueStats()).pending, 0);
  });
}
