import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LeaseLostError, TaskQueue, TaskStatus } from "../mod.ts";
import { FakeClock, memoryQueue, tempDir } from "./_helpers.ts";

describe("leases", () => {
  test("heartbeat extends the lease by the claimed duration", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 100 }))!;
    clock.advance(80);
    const renewed = await queue.heartbeat(task);
    assert.equal(renewed.leaseExpiresAt, clock.now + 100);
    clock.advance(80); // past the first lease, inside the renewed one
    assert.equal(await queue.dequeue(), null, "a heartbeated task is not taken over");
    assert.equal((await queue.completeTask(renewed, 1)).status, TaskStatus.COMPLETED);
    await queue.close();
  });

  test("an expired lease makes the task claimable again, counting a failed attempt", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const first = (await queue.dequeue({ leaseMs: 50, workerId: "w1" }))!;
    clock.advance(49);
    assert.equal(await queue.dequeue({ workerId: "w2" }), null);
    clock.advance(1);
    const second = (await queue.dequeue({ leaseMs: 50, workerId: "w2" }))!;
    assert.equal(second.id, id);
    assert.equal(second.attempts, first.attempts + 1);
    assert.equal(second.retryCount, 1);
    assert.equal(second.workerId, "w2");
    assert.match(second.error!, /Lease expired after 50 ms \(worker w1/);
    await queue.close();
  });

  test("the old holder gets LeaseLostError and changes nothing", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const stale = (await queue.dequeue({ leaseMs: 50 }))!;
    clock.advance(60);
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
    await queue.close();
  });

  test("a lease recovered to pending is lost even before another claim", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 10 }))!;
    clock.advance(10);
    assert.equal(await queue.recover(), 1);
    assert.equal((await queue.getTask(task.id))!.status, TaskStatus.PENDING);
    await assert.rejects(queue.completeTask(task), LeaseLostError);
    await queue.close();
  });

  test("an expired but untouched lease can still complete", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 10 }))!;
    clock.advance(1000);
    assert.equal((await queue.completeTask(task, 1)).status, TaskStatus.COMPLETED);
    assert.equal(await queue.dequeue(), null);
    await queue.close();
  });

  test("a task that keeps losing its lease ends FAILED, not in a loop", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "crashes its worker", taskType: "t", maxRetries: 2 });
    const start = clock.now;
    let claims = 0;
    for (let i = 0; i < 10; i++) {
      if (await queue.dequeue({ leaseMs: 10 })) claims++;
      clock.advance(10);
    }
    await queue.recover();
    const task = (await queue.getTask(id))!;
    assert.equal(claims, 3);
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.retryCount, 3);
    assert.equal(task.completedAt, start + 30, "failed when the third lease was found expired");
    assert.match(task.error!, /Lease expired/);
    await queue.close();
  });

  test("recover() leaves live leases alone", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    await queue.dequeue({ leaseMs: 10 });
    await queue.dequeue({ leaseMs: 1000 });
    clock.advance(500);
    assert.equal(await queue.recover(), 1);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 1,
      running: 1,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    await queue.close();
  });

  test("two connections to one file never share a claim", async () => {
    const tmp = tempDir();
    try {
      const clock = new FakeClock();
      const path = tmp.file("tasks.db");
      const a = await TaskQueue.open(path, { clock: clock.fn });
      const b = await TaskQueue.open(path, { clock: clock.fn });
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
      clock.advance(30_000);
      const taken = (await b.dequeue())!;
      await assert.rejects(
        a.completeTask({ ...taken, attempts: taken.attempts - 1 }),
        LeaseLostError,
      );
      await a.close();
      await b.close();
    } finally {
      tmp.cleanup();
    }
  });
});
