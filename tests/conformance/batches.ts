/**
 * Conformance: batch transitions. A batch applies in one go, each item fenced by its own lease:
 * an item that does not apply fails alone, in its slot, with the error the single call would
 * throw, and the others commit. Bad input anywhere refuses the whole batch before anything changes.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  LeaseLostError,
  type Task,
  TaskNotFoundError,
  TaskStateError,
  TaskStatus,
  ValidationError,
} from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** The value of a fulfilled slot, or a failed assertion. */
function fulfilled(result: PromiseSettledResult<Task> | undefined): Task {
  assert.equal(result?.status, "fulfilled", `${JSON.stringify(result)}`);
  return (result as PromiseFulfilledResult<Task>).value;
}

/** The reason of a rejected slot, or a failed assertion. */
function rejected(result: PromiseSettledResult<Task> | undefined): unknown {
  assert.equal(result?.status, "rejected");
  return (result as PromiseRejectedResult).reason;
}

/** Registers the batch cases. */
export function batches(suite: Suite): void {
  suite.test("completeMany: a stale item fails alone with LeaseLostError; the others commit", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 3 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    const [a, stale, c] = await queue.dequeueMany(3, { leaseMs: 100 });
    await queue.heartbeat(a!);
    await queue.heartbeat(c!);
    h.clock.advance(50);
    await queue.heartbeat(a!);
    await queue.heartbeat(c!);
    h.clock.advance(50); // the middle one's lease ran out
    const current = (await queue.dequeue())!;
    assert.equal(current.id, stale!.id);
    const completed: number[] = [];
    queue.on("completed", ({ task }) => void completed.push(task.id));
    const results = await queue.completeMany([
      { task: a!, result: "a" },
      { task: stale!, result: "late" },
      { task: c!, result: { c: true } },
    ]);
    assert.equal(results.length, 3);
    assert.equal(fulfilled(results[0]).result, "a");
    const reason = rejected(results[1]);
    assert.ok(reason instanceof LeaseLostError, `${reason}`);
    assert.equal(reason.taskId, stale!.id);
    assert.deepEqual(fulfilled(results[2]).result, { c: true });
    assert.deepEqual(completed, [ids[0], ids[2]], "events only for what committed");
    const again = (await queue.getTask(stale!.id))!;
    assert.equal(again.status, TaskStatus.RUNNING, "the stale item changed nothing");
    assert.equal(again.attempts, current.attempts);
    assert.equal(again.result, null);
    assert.equal((await queue.completeTask(current, "ok")).status, TaskStatus.COMPLETED);
    assert.equal((await queue.getQueueStats()).completed, 3);
  });

  suite.test("completeMany: each slot gets the error the single call would throw", async (h) => {
    const queue = await h.open();
    const [pendingId] = await queue.enqueueMany([
      { name: "p", taskType: "wait", priority: 1 },
      { name: "r", taskType: "t", priority: 4 },
    ]);
    const running = (await queue.dequeue({ taskTypes: ["t"] }))!;
    const results = await queue.completeMany([
      { task: pendingId! }, // by id, not running
      { task: 9999 }, // no such task
      { task: running.id, result: 1 }, // by id, running: acts on the current run
    ]);
    assert.ok(rejected(results[0]) instanceof TaskStateError);
    assert.ok(rejected(results[1]) instanceof TaskNotFoundError);
    assert.equal(fulfilled(results[2]).result, 1);
    assert.equal((await queue.getTask(pendingId!))!.status, TaskStatus.PENDING);
  });

  suite.test("completeMany: the same claim twice in one batch completes once", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    const results = await queue.completeMany([
      { task, result: "first" },
      { task, result: "second" },
    ]);
    assert.equal(fulfilled(results[0]).result, "first");
    assert.ok(rejected(results[1]) instanceof LeaseLostError);
    assert.equal((await queue.getTask(task.id))!.result, "first");
  });

  suite.test("completeMany: bad input anywhere refuses the batch and changes nothing", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    const [a, b] = await queue.dequeueMany(2);
    const before = [await queue.getTask(a!.id), await queue.getTask(b!.id)];
    for (
      const bad of [
        [{ task: a!, result: 1 }, { task: b!, result: { n: 2n } }],
        [{ task: a! }, { task: 0 }],
        [{ task: a! }, null],
        "not a list",
      ]
    ) {
      await assert.rejects(queue.completeMany(bad as never), ValidationError);
    }
    assert.deepEqual([await queue.getTask(a!.id), await queue.getTask(b!.id)], before);
    assert.deepEqual(await queue.completeMany([]), []);
  });

  suite.test("completeMany: a hundred completions in one call", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany(
      Array.from({ length: 100 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    const claimed = await queue.dequeueMany(100);
    h.clock.advance(5);
    const results = await queue.completeMany(claimed.map((task) => ({ task, result: task.id })));
    assert.deepEqual(
      results.map((r) => fulfilled(r).result),
      claimed.map((t) => t.id),
      "in order, each with its own result",
    );
    assert.ok(results.every((r) => fulfilled(r).completedAt === h.clock.now));
    assert.equal((await queue.getQueueStats()).completed, 100);
  });
}
