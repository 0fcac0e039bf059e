/**
 * Conformance: cancelling and redriving. A pending task is cancelled at once, a running one is
 * marked and ends `cancelled` however its attempt ends (cancel wins over a retry); a redrive puts
 * a failed or cancelled task back with its retries reset.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskNotFoundError, TaskStateError, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the cancel and redrive cases. */
export function cancelRedrive(suite: Suite): void {
  suite.test("cancel a pending task; it is never dequeued", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const cancelled = await queue.cancelTask(id);
    assert.equal(cancelled.status, TaskStatus.CANCELLED);
    assert.equal(cancelled.completedAt, h.clock.now);
    assert.equal(await queue.dequeue(), null);
  });

  suite.test("cancel a task waiting for its retry", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await queue.failTask((await queue.dequeue())!, "down");
    assert.equal((await queue.cancelTask(id)).status, TaskStatus.CANCELLED);
    h.clock.advance(3_600_000);
    assert.equal(await queue.dequeue(), null);
  });

  suite.test("cancel marks a running task, and refuses finished tasks and unknown ids", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    const marked = await queue.cancelTask(id);
    assert.equal(marked.status, TaskStatus.RUNNING);
    assert.equal(marked.cancelRequestedAt, h.clock.now);
    assert.deepEqual(await queue.cancelRequested([id, 999]), [id]);
    await queue.completeTask(task);
    await assert.rejects(queue.cancelTask(id), /Cannot cancel task \d+: it is completed/);
    await assert.rejects(queue.cancelTask(12345), /Cannot cancel task 12345: no such task/);
    assert.equal((await queue.getTask(id))!.status, TaskStatus.COMPLETED);
  });

  suite.test("cancelling a running task twice keeps the first request time", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await queue.dequeue();
    const first = h.clock.now;
    await queue.cancelTask(id);
    h.clock.advance(500);
    assert.equal((await queue.cancelTask(id)).cancelRequestedAt, first);
    assert.deepEqual(await queue.cancelRequested([id]), [id]);
  });

  suite.test("cancelRequested reports only running tasks asked to cancel", async (h) => {
    const queue = await h.open();
    const [a, b, c] = await queue.enqueueMany([
      { name: "a", taskType: "t" },
      { name: "b", taskType: "t" },
      { name: "c", taskType: "t" },
    ]);
    await queue.dequeueMany(2);
    await queue.cancelTask(b!);
    await queue.cancelTask(c!); // pending: cancelled outright, not "requested"
    assert.deepEqual(await queue.cancelRequested([a!, b!, c!]), [b]);
    assert.deepEqual(await queue.cancelRequested([]), []);
  });

  suite.test("cancel wins over a retry: a marked task that fails ends cancelled", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 5 });
    const task = (await queue.dequeue())!;
    await queue.cancelTask(id);
    h.clock.advance(10);
    const after = await queue.failTask(task, "aborted: cancelled");
    assert.equal(after.status, TaskStatus.CANCELLED);
    assert.equal(after.completedAt, h.clock.now);
    assert.equal(after.error, "aborted: cancelled");
    h.clock.advance(3_600_000);
    assert.equal(await queue.dequeue(), null, "it does not come back for a retry");
    assert.equal((await queue.getQueueStats()).cancelled, 1);
  });

  suite.test("cancel wins over an explicit retry delay too", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 5 });
    const task = (await queue.dequeue())!;
    await queue.cancelTask(id);
    const after = await queue.failTask(task, "x", { retryDelayMs: 0 });
    assert.equal(after.status, TaskStatus.CANCELLED);
    assert.equal(await queue.dequeue(), null);
  });

  suite.test("a marked task whose lease expires is recovered as cancelled", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 5 });
    await queue.dequeue({ leaseMs: 100 });
    await queue.cancelTask(id);
    h.clock.advance(100);
    assert.equal(await queue.dequeue(), null, "recovered, not claimed again");
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.CANCELLED);
    assert.equal(task.completedAt, h.clock.now);
    assert.match(task.error!, /Lease expired/);
  });

  suite.test("retryTask redrives failed and cancelled tasks with retries reset", async (h) => {
    const queue = await h.open();
    const failedId = await queue.enqueue({ name: "f", taskType: "t", maxRetries: 0 });
    await queue.failTask((await queue.dequeue())!, "down");
    const cancelledId = await queue.enqueue({ name: "c", taskType: "t" });
    await queue.cancelTask(cancelledId);
    h.clock.advance(10);
    for (const id of [failedId, cancelledId]) {
      const task = await queue.retryTask(id);
      assert.equal(task.status, TaskStatus.PENDING);
      assert.equal(task.retryCount, 0);
      assert.equal(task.scheduledAt, h.clock.now);
      assert.equal(task.completedAt, null);
    }
    const again = (await queue.dequeue())!;
    assert.equal(again.id, failedId);
    assert.equal(again.attempts, 2);
  });

  suite.test("a redriven task gets its whole retry budget again", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 1 });
    await queue.failTask((await queue.dequeue())!, "one");
    h.clock.advance(1000);
    assert.equal((await queue.failTask((await queue.dequeue())!, "two")).status, "failed");
    await queue.retryTask(id);
    const retried = await queue.failTask((await queue.dequeue())!, "three");
    assert.equal(retried.status, TaskStatus.PENDING, "one retry left again");
    assert.equal(retried.retryCount, 1);
    assert.equal(retried.scheduledAt, h.clock.now + 1000, "the backoff starts over");
    h.clock.advance(1000);
    const dead = await queue.failTask((await queue.dequeue())!, "four");
    assert.equal(dead.status, TaskStatus.FAILED);
    assert.deepEqual(dead.errors.map((e) => e.error), ["one", "two", "three", "four"]);
  });

  suite.test("a redriven cancelled task is no longer marked for cancellation", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    await queue.cancelTask(id);
    await queue.failTask(task, "cancelled");
    const redriven = await queue.retryTask(id);
    assert.equal(redriven.cancelRequestedAt, null);
    const again = (await queue.dequeue())!;
    assert.deepEqual(await queue.cancelRequested([id]), []);
    assert.equal((await queue.failTask(again, "x")).status, TaskStatus.PENDING);
  });

  suite.test("retryTask refuses pending, running and completed tasks", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.retryTask(id), /Cannot retry task \d+: it is pending/);
    const task = (await queue.dequeue())!;
    await assert.rejects(queue.retryTask(id), /it is running/);
    await queue.completeTask(task);
    await assert.rejects(queue.retryTask(id), TaskStateError);
    await assert.rejects(queue.retryTask(77), TaskNotFoundError);
  });
}
