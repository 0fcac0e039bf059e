/**
 * Conformance: leases and fencing. A claim holds its task until the lease runs out; heartbeats
 * extend it; an expired lease is a failed attempt; every transition through a stale claim throws
 * `LeaseLostError` and changes nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LeaseLostError, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the lease and fencing cases. */
export function leases(suite: Suite): void {
  suite.test("a transition through a claimed task returns the committed row", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t", payload: { big: "x".repeat(1000) } });
    const task = (await queue.dequeue())!;
    await queue.progress(task.id, { step: 2 }); // through the id: the claimed copy is stale
    await queue.cancelTask(task.id);
    h.clock.advance(5);
    const beat = await queue.heartbeat(task);
    assert.deepEqual(beat.progress, { step: 2 });
    assert.equal(beat.cancelRequestedAt, h.clock.now - 5);
    assert.equal(beat.leaseExpiresAt, h.clock.now + task.leaseMs!);
    const done = await queue.completeTask(beat, "ok");
    assert.deepEqual(done, await queue.getTask(task.id), "the same as a fresh read");
  });

  suite.test("heartbeat extends the lease by the claimed duration", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 100 }))!;
    h.clock.advance(80);
    const renewed = await queue.heartbeat(task);
    assert.equal(renewed.leaseExpiresAt, h.clock.now + 100);
    h.clock.advance(80); // past the first lease, inside the renewed one
    assert.equal(await queue.dequeue(), null, "a heartbeated task is not taken over");
    assert.equal((await queue.completeTask(renewed, 1)).status, TaskStatus.COMPLETED);
  });

  suite.test("an expired lease makes the task claimable again, counting a failed attempt", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const first = (await queue.dequeue({ leaseMs: 50, workerId: "w1" }))!;
    h.clock.advance(49);
    assert.equal(await queue.dequeue({ workerId: "w2" }), null);
    h.clock.advance(1);
    const second = (await queue.dequeue({ leaseMs: 50, workerId: "w2" }))!;
    assert.equal(second.id, id);
    assert.equal(second.attempts, first.attempts + 1);
    assert.equal(second.retryCount, 1);
    assert.equal(second.workerId, "w2");
    assert.match(second.error!, /Lease expired after 50 ms \(worker w1/);
  });

  suite.test("an expired lease is recorded in the error history", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const enqueuedAt = h.clock.now;
    await queue.dequeue({ leaseMs: 50, workerId: "w1" });
    h.clock.advance(50);
    assert.equal(await queue.recover(), 1);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING);
    assert.equal(task.scheduledAt, enqueuedAt, "due again at once, in its old place");
    assert.equal(task.leaseExpiresAt, null);
    assert.equal(task.failedAt, h.clock.now);
    assert.equal(task.errors.length, 1);
    assert.equal(task.errors[0]!.attempt, 1);
    assert.equal(task.errors[0]!.at, h.clock.now);
    assert.match(task.errors[0]!.error, /Lease expired after 50 ms \(worker w1/);
  });

  suite.test("the old holder gets LeaseLostError and changes nothing", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const stale = (await queue.dequeue({ leaseMs: 50 }))!;
    h.clock.advance(60);
    const current = (await queue.dequeue({ leaseMs: 50 }))!;
    const before = await queue.getTask(stale.id);
    for (
      const attempt of [
        () => queue.completeTask(stale, "late"),
        () => queue.failTask(stale, "late"),
        () => queue.heartbeat(stale),
      ]
    ) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof LeaseLostError);
        assert.equal(error.taskId, stale.id);
        assert.match(error.message, new RegExp(`^Cannot \\w+ task ${stale.id}: lease lost`));
        return true;
      });
    }
    assert.deepEqual(await queue.getTask(stale.id), before);
    assert.equal((await queue.completeTask(current, "ok")).result, "ok");
  });

  suite.test("a stale holder's progress and release throw LeaseLostError too", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const stale = (await queue.dequeue({ leaseMs: 50 }))!;
    h.clock.advance(50);
    const current = (await queue.dequeue({ leaseMs: 50 }))!;
    await queue.progress(current, 10);
    const before = await queue.getTask(stale.id);
    for (const attempt of [() => queue.progress(stale, 99), () => queue.release(stale)]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof LeaseLostError);
        assert.equal(error.taskId, stale.id);
        return true;
      });
    }
    assert.deepEqual(await queue.getTask(stale.id), before);
    assert.equal(before!.progress, 10);
    assert.equal(before!.status, TaskStatus.RUNNING);
    assert.equal((await queue.heartbeat(current)).attempts, current.attempts);
  });

  suite.test("a finished task's claim is spent: a second transition through it is lost", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    const [a, b] = await queue.dequeueMany(2);
    await queue.completeTask(a!, "first");
    await queue.failTask(b!, "down", { retry: false });
    const after = [await queue.getTask(a!.id), await queue.getTask(b!.id)];
    for (
      const attempt of [
        () => queue.completeTask(a!, "second"),
        () => queue.failTask(a!, "late"),
        () => queue.heartbeat(a!),
        () => queue.progress(a!, 1),
        () => queue.release(a!),
        () => queue.completeTask(b!, "late"),
        () => queue.failTask(b!, "again"),
      ]
    ) {
      await assert.rejects(attempt(), LeaseLostError);
    }
    assert.deepEqual([await queue.getTask(a!.id), await queue.getTask(b!.id)], after);
  });

  suite.test("a lease recovered to pending is lost even before another claim", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 10 }))!;
    h.clock.advance(10);
    assert.equal(await queue.recover(), 1);
    assert.equal((await queue.getTask(task.id))!.status, TaskStatus.PENDING);
    await assert.rejects(queue.completeTask(task), LeaseLostError);
  });

  suite.test("an expired but untouched lease can still complete", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 10 }))!;
    h.clock.advance(1000);
    assert.equal((await queue.completeTask(task, 1)).status, TaskStatus.COMPLETED);
    assert.equal(await queue.dequeue(), null);
  });

  suite.test("a task that keeps losing its lease ends FAILED, not in a loop", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "crashes its worker", taskType: "t", maxRetries: 2 });
    const start = h.clock.now;
    let claims = 0;
    for (let i = 0; i < 10; i++) {
      if (await queue.dequeue({ leaseMs: 10 })) claims++;
      h.clock.advance(10);
    }
    await queue.recover();
    const task = (await queue.getTask(id))!;
    assert.equal(claims, 3);
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.retryCount, 3);
    assert.equal(task.completedAt, start + 30, "failed when the third lease was found expired");
    assert.match(task.error!, /Lease expired/);
    assert.deepEqual(task.errors.map((e) => e.attempt), [1, 2, 3]);
  });

  suite.test("recover() leaves live leases alone", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    await queue.dequeue({ leaseMs: 10 });
    await queue.dequeue({ leaseMs: 1000 });
    h.clock.advance(500);
    assert.equal(await queue.recover(), 1);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 1,
      running: 1,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
  });

  suite.test("release gives the claim back: pending, due now, no failed attempt", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 0 });
    const task = (await queue.dequeue({ leaseMs: 1000 }))!;
    h.clock.advance(100);
    const released = await queue.release(task);
    assert.equal(released.status, TaskStatus.PENDING);
    assert.equal(released.scheduledAt, h.clock.now);
    assert.equal(released.retryCount, 0);
    assert.equal(released.leaseExpiresAt, null);
    assert.deepEqual(released.errors, []);
    await assert.rejects(queue.completeTask(task), LeaseLostError, "the released claim is spent");
    const again = (await queue.dequeue())!;
    assert.equal(again.id, id);
    assert.equal(again.attempts, task.attempts + 1);
    assert.equal((await queue.completeTask(again, "ok")).status, TaskStatus.COMPLETED);
  });

  suite.test("by id, transitions act on whichever run is current", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await queue.dequeue({ leaseMs: 10 });
    h.clock.advance(10);
    const current = (await queue.dequeue({ leaseMs: 100 }))!;
    h.clock.advance(50);
    assert.equal((await queue.heartbeat(id)).leaseExpiresAt, h.clock.now + 100);
    assert.deepEqual((await queue.progress(id, { step: 2 })).progress, { step: 2 });
    const done = await queue.completeTask(id, "by id");
    assert.equal(done.attempts, current.attempts);
    assert.equal(done.result, "by id");
  });

  suite.test("two connections to one file never share a claim", async (h) => {
    const a = await h.open();
    const b = await h.reopen(a);
    await a.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ name: `${i}`, taskType: "t" })));
    const seen = new Set<number>();
    for (let i = 0; i < 120; i++) {
      for (const task of [await a.dequeue(), await b.dequeue()]) {
        if (!task) continue;
        assert.ok(!seen.has(task.id), `task ${task.id} claimed twice`);
        seen.add(task.id);
      }
    }
    assert.equal(seen.size, 200);
    h.clock.advance(30_000);
    const taken = (await b.dequeue())!;
    await assert.rejects(
      a.completeTask({ ...taken, attempts: taken.attempts - 1 }),
      LeaseLostError,
    );
  }, { needs: "reopen" });
}
