/**
 * Conformance: recovery of expired leases. A task whose worker died keeps its place (its priority
 * and its original due time), so it is claimed before the backlog enqueued after it; with a retry
 * policy of its own it waits out the policy's backoff, as a failed attempt would.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskPriority, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

const EXPONENTIAL = { type: "exponential", baseMs: 5000, factor: 2, jitter: 0 } as const;

/** Registers the recovery cases. */
export function recovery(suite: Suite): void {
  suite.test("a recovered task is claimed before the backlog enqueued after it", async (h) => {
    const queue = await h.open();
    const enqueuedAt = h.clock.now;
    const id = await queue.enqueue({ name: "crashed", taskType: "t" });
    h.clock.advance(10);
    const backlog = Array.from({ length: 500 }, (_, i) => ({ name: `b${i}`, taskType: "t" }));
    await queue.enqueueMany(backlog);
    const first = (await queue.dequeue({ leaseMs: 1000, workerId: "dead" }))!;
    assert.equal(first.id, id);
    h.clock.advance(1000); // the worker died: its lease runs out
    const next = (await queue.dequeue({ workerId: "w2" }))!;
    assert.equal(next.id, id, "the recovered task first, not behind 500 tasks");
    assert.equal(next.scheduledAt, enqueuedAt, "its original due time");
    assert.equal(next.priority, TaskPriority.NORMAL);
    assert.equal(next.attempts, 2);
    assert.equal(next.retryCount, 1);
    assert.match(next.error!, /Lease expired after 1000 ms \(worker dead/);
    assert.equal((await queue.getQueueStats()).pending, 500);
  });

  suite.test("a recovered task keeps its priority and its place among its peers", async (h) => {
    const queue = await h.open();
    const low = await queue.enqueue({ name: "low", taskType: "t", priority: TaskPriority.LOW });
    const high = await queue.enqueue({ name: "high", taskType: "t", priority: TaskPriority.HIGH });
    h.clock.advance(10);
    const later = await queue.enqueue({
      name: "later",
      taskType: "t",
      priority: TaskPriority.HIGH,
    });
    assert.equal((await queue.dequeue({ leaseMs: 100 }))!.id, high);
    h.clock.advance(100);
    const order = [];
    for (let task = await queue.dequeue(); task; task = await queue.dequeue()) order.push(task.id);
    assert.deepEqual(order, [high, later, low]);
  });

  suite.test("the queue's backoff does not delay a crash retry: the lease was the wait", async (h) => {
    const queue = await h.open({ backoff: { baseMs: 60_000, jitter: 0 } });
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await queue.dequeue({ leaseMs: 100 });
    h.clock.advance(100);
    assert.equal((await queue.dequeue())?.id, id);
  });

  suite.test("with its own retry policy, a recovered task is due after the policy's backoff", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", retry: EXPONENTIAL });
    const other = await queue.enqueue({ name: "other", taskType: "t" });
    await queue.dequeue({ leaseMs: 100 });
    h.clock.advance(100);
    const recoveredAt = h.clock.now;
    assert.equal((await queue.dequeue())?.id, other, "not the recovered task");
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING);
    assert.equal(task.scheduledAt, recoveredAt + 5000);
    h.clock.advance(4999);
    assert.equal(await queue.dequeue(), null, "not before its backoff");
    h.clock.advance(1);
    const again = (await queue.dequeue({ leaseMs: 100 }))!;
    assert.equal(again.id, id);
    h.clock.advance(100);
    assert.equal(await queue.recover(), 1, "recover() decides the same way");
    assert.equal((await queue.getTask(id))!.scheduledAt, h.clock.now + 10_000, "the second delay");
  });

  suite.test("a recovered task with retries spent ends failed, whatever its policy", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({
      name: "n",
      taskType: "t",
      maxRetries: 0,
      retry: EXPONENTIAL,
    });
    await queue.dequeue({ leaseMs: 100 });
    h.clock.advance(100);
    assert.equal(await queue.recover(), 1);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.completedAt, h.clock.now);
    assert.match(task.error!, /Lease expired after 100 ms/);
  });

  suite.test("a lease heartbeated in time is not recovered by a claim", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 100 }))!;
    h.clock.advance(99);
    const beat = await queue.heartbeat(task);
    h.clock.advance(1);
    assert.equal(await queue.dequeue(), null);
    assert.equal(await queue.recover(), 0);
    assert.equal((await queue.completeTask(beat, 1)).id, id);
  });
}
