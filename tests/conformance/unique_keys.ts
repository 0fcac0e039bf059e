/**
 * Conformance: unique keys. While a task with a key is pending or running (waiting for a retry
 * included), enqueueing the key again returns that task's id; once it has finished, however it
 * finished, the key is free.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the unique-key cases. */
export function uniqueKeys(suite: Suite): void {
  suite.test("a live key returns the existing id; a finished one allows a new task", async (h) => {
    const queue = await h.open();
    const first = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "user:1" });
    assert.equal(await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "user:1" }), first);
    const task = (await queue.dequeue())!;
    assert.equal(await queue.enqueue({ name: "c", taskType: "t", uniqueKey: "user:1" }), first);
    await queue.completeTask(task);
    const second = await queue.enqueue({ name: "d", taskType: "t", uniqueKey: "user:1" });
    assert.notEqual(second, first);
    assert.equal((await queue.getQueueStats()).pending, 1);
  });

  suite.test("a duplicate changes nothing on the live task", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({
      name: "original",
      taskType: "t",
      uniqueKey: "k",
      payload: { v: 1 },
    });
    const before = await queue.getTask(id);
    h.clock.advance(100);
    const again = await queue.enqueue({
      name: "duplicate",
      taskType: "other",
      uniqueKey: "k",
      payload: { v: 2 },
      priority: 4,
    });
    assert.equal(again, id);
    assert.deepEqual(await queue.getTask(id), before);
    assert.equal((await queue.getQueueStats()).pending, 1);
  });

  suite.test("a key stays taken while its task waits for a retry", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "k" });
    await queue.failTask((await queue.dequeue())!, "down");
    assert.equal((await queue.getTask(id))!.status, TaskStatus.PENDING);
    assert.equal(await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "k" }), id);
  });

  suite.test("a key is free again after its task failed or was cancelled", async (h) => {
    const queue = await h.open();
    const failed = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "f", maxRetries: 0 });
    await queue.failTask((await queue.dequeue())!, "down");
    const afterFailure = await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "f" });
    assert.notEqual(afterFailure, failed);
    const cancelled = await queue.enqueue({ name: "c", taskType: "t", uniqueKey: "c" });
    await queue.cancelTask(cancelled);
    const afterCancel = await queue.enqueue({ name: "d", taskType: "t", uniqueKey: "c" });
    assert.notEqual(afterCancel, cancelled);
    const lost = await queue.enqueue({ name: "e", taskType: "l", uniqueKey: "l", maxRetries: 0 });
    await queue.dequeue({ taskTypes: ["l"], leaseMs: 10 });
    h.clock.advance(10);
    await queue.recover();
    assert.equal((await queue.getTask(lost))!.status, TaskStatus.FAILED);
    assert.notEqual(await queue.enqueue({ name: "f", taskType: "l", uniqueKey: "l" }), lost);
    assert.equal((await queue.getQueueStats()).pending, 3);
  });

  suite.test("keys are independent of each other and of tasks without one", async (h) => {
    const queue = await h.open();
    const a = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "a" });
    const b = await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "b" });
    const plain1 = await queue.enqueue({ name: "p", taskType: "t" });
    const plain2 = await queue.enqueue({ name: "p", taskType: "t" });
    assert.equal(new Set([a, b, plain1, plain2]).size, 4);
    assert.equal((await queue.getTask(a))!.uniqueKey, "a");
  });

  suite.test("duplicates inside one batch collapse to one task", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany([
      { name: "a", taskType: "t", uniqueKey: "k" },
      { name: "b", taskType: "t" },
      { name: "c", taskType: "t", uniqueKey: "k" },
    ]);
    assert.equal(ids[0], ids[2]);
    assert.equal((await queue.getQueueStats()).pending, 2);
  });

  suite.test("redriving a task whose key is live again is refused", async (h) => {
    const queue = await h.open();
    const old = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "k" });
    await queue.cancelTask(old);
    await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "k" });
    await assert.rejects(queue.retryTask(old), /Cannot retry task \d+: another pending/);
    assert.equal((await queue.getTask(old))!.status, TaskStatus.CANCELLED);
  });
}
