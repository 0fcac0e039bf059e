/**
 * Conformance: wake-ups. `nextWakeAt()` is the earliest time something becomes due (a pending
 * task, a lease to recover, a schedule slot), for alarm-driven workers; the queue's notifier hears
 * of tasks that are ready now (enqueued due, redriven, released), for idle workers.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Suite } from "./_harness.ts";

/** Registers the wake-up cases. */
export function wake(suite: Suite): void {
  suite.test("nextWakeAt: the earliest pending task, lease expiry or schedule slot", async (h) => {
    const queue = await h.open();
    const t0 = h.clock.now;
    assert.equal(await queue.nextWakeAt(), null, "nothing at all");
    await queue.enqueue({ name: "later", taskType: "t", scheduledAt: t0 + 60_000 });
    assert.equal(await queue.nextWakeAt(), t0 + 60_000);
    await queue.enqueue({ name: "soon", taskType: "t", scheduledAt: t0 + 5000 });
    assert.equal(await queue.nextWakeAt(), t0 + 5000);
    h.clock.advance(5000);
    const running = (await queue.dequeue({ leaseMs: 1000 }))!;
    assert.equal(await queue.nextWakeAt(), t0 + 6000, "the lease runs out before the next task");
    await queue.completeTask(running);
    assert.equal(await queue.nextWakeAt(), t0 + 60_000, "finished tasks never wake anyone");
    await queue.schedule("s", "*/10 * * * * *", { taskType: "t" });
    const [schedule] = await queue.getSchedules();
    assert.ok(schedule!.nextRunAt! < t0 + 60_000);
    assert.equal(await queue.nextWakeAt(), schedule!.nextRunAt);
    await queue.schedule("s", "*/10 * * * * *", { taskType: "t", paused: true });
    assert.equal(await queue.nextWakeAt(), t0 + 60_000, "a paused schedule does not wake");
    const due = await queue.enqueue({ name: "due", taskType: "t" });
    assert.equal(await queue.nextWakeAt(), (await queue.getTask(due))!.scheduledAt, "due now");
  });

  suite.test("the notifier hears of tasks ready now, by type", async (h) => {
    const queue = await h.open();
    const heard: string[][] = [];
    const stop = queue.notifier.listen((types) => void heard.push([...types]));
    await queue.enqueueMany([
      { name: "a", taskType: "email" },
      { name: "b", taskType: "sms" },
      { name: "c", taskType: "email" },
    ]);
    assert.deepEqual(heard.map((types) => types.sort()), [["email", "sms"]]);
    heard.length = 0;
    await queue.enqueue({ name: "later", taskType: "report", scheduledAt: h.clock.now + 1000 });
    assert.equal(heard.length, 0, "a task due later wakes nobody now");
    const task = (await queue.dequeue({ taskTypes: ["sms"] }))!;
    await queue.release(task);
    assert.deepEqual(heard, [["sms"]], "a released task is ready again");
    heard.length = 0;
    const failed = (await queue.dequeue({ taskTypes: ["sms"] }))!;
    await queue.failTask(failed, "down", { retry: false });
    await queue.retryTask(failed.id);
    assert.ok(heard.some((types) => types.includes("sms")), "a redriven task is ready again");
    stop();
    heard.length = 0;
    await queue.enqueue({ name: "d", taskType: "email" });
    assert.equal(heard.length, 0, "unsubscribed");
  });
}
