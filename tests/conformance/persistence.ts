/**
 * Conformance: what outlives a connection. Tasks, their results, error histories and leases are
 * in the storage, not in the queue object; a closed queue refuses work.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LeaseLostError, TaskPriority, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the persistence cases. */
export function persistence(suite: Suite): void {
  suite.test("tasks survive close and reopen, ids keep increasing", async (h) => {
    let queue = await h.open();
    const a = await queue.enqueue({ name: "a", taskType: "t", payload: { n: 1 } });
    const b = await queue.enqueue({ name: "b", taskType: "t", priority: TaskPriority.HIGH });
    await queue.completeTask((await queue.dequeue())!, "done");
    await queue.close();

    queue = await h.reopen(queue);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 1,
      running: 0,
      completed: 1,
      failed: 0,
      cancelled: 0,
    });
    assert.equal((await queue.getTask(b))!.result, "done");
    assert.deepEqual((await queue.getTask(a))!.payload, { n: 1 });
    const c = await queue.enqueue({ name: "c", taskType: "t" });
    assert.ok(c > b);
  }, { needs: "reopen" });

  suite.test("every field of every status survives a restart", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany([
      { name: "done", taskType: "t", priority: 4, uniqueKey: "k1" },
      { name: "dead", taskType: "t", priority: 3, maxRetries: 0 },
      { name: "cancelled", taskType: "t", priority: 2 },
      { name: "running", taskType: "t", priority: 2, timeoutMs: 500 },
      {
        name: "retrying",
        taskType: "t",
        priority: 1,
        retry: { type: "fixed", delayMs: 5000 },
        uniqueKey: "k2",
      },
    ]);
    await queue.cancelTask(ids[2]!);
    const [done, dead, running, retrying] = await queue.dequeueMany(4, {
      leaseMs: 60_000,
      workerId: "w",
    });
    await queue.completeTask(done!, { ok: true });
    await queue.failTask(dead!, "fatal");
    await queue.progress(running!, { step: 3 });
    await queue.cancelTask(running!.id);
    await queue.failTask(retrying!, new Error("later"));
    const before = await Promise.all(ids.map((id) => queue.getTask(id)));
    const stats = await queue.getQueueStats();
    await queue.close();
    const again = await h.reopen(queue);
    assert.deepEqual(await Promise.all(ids.map((id) => again.getTask(id))), before);
    assert.deepEqual(await again.getQueueStats(), stats);
    assert.deepEqual(stats, { pending: 1, running: 1, completed: 1, failed: 1, cancelled: 1 });
  }, { needs: "reopen" });

  suite.test("a lease survives a restart: held until it expires, fenced after", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const claimed = (await queue.dequeue({ leaseMs: 1000 }))!;
    await queue.close();
    const again = await h.reopen(queue);
    assert.equal(await again.dequeue(), null, "still leased");
    assert.equal((await again.heartbeat(claimed)).leaseExpiresAt, h.clock.now + 1000);
    h.clock.advance(1000);
    const taken = (await again.dequeue())!;
    assert.equal(taken.id, id);
    await assert.rejects(again.completeTask(claimed), LeaseLostError);
    assert.equal((await again.completeTask(taken)).status, TaskStatus.COMPLETED);
  }, { needs: "reopen" });

  suite.test("a second connection sees the first's writes at once", async (h) => {
    const a = await h.open();
    const b = await h.reopen(a);
    const id = await a.enqueue({ name: "n", taskType: "t" });
    const task = (await b.dequeue())!;
    assert.equal(task.id, id);
    assert.equal((await a.getTask(id))!.status, TaskStatus.RUNNING);
    await a.completeTask(task, "by a");
    assert.equal((await b.getTask(id))!.result, "by a");
    await b.close();
    assert.equal((await a.getQueueStats()).completed, 1, "closing b leaves a working");
  }, { needs: "reopen" });

  suite.test("a closed queue refuses work with a clear error", async (h) => {
    const queue = await h.open();
    await queue.close();
    await queue.close();
    await assert.rejects(
      queue.enqueue({ name: "n", taskType: "t" }),
      /Cannot enqueue: the queue is closed/,
    );
    await assert.rejects(queue.getQueueStats(), /the queue is closed/);
    await assert.rejects(queue.dequeue(), /Cannot dequeue: the queue is closed/);
  });
}
