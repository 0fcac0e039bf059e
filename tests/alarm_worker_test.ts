/**
 * The alarm-driven worker (`AlarmWorker`): where it sets the alarm after each change, what one
 * `alarm()` runs within its budget, and how it waits when due tasks cannot be claimed. Everything
 * runs on a fake clock, with an in-memory alarm like a Durable Object's.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AlarmWorker, type AlarmWorkerOptions, type TaskQueue, TaskStatus } from "../mod.ts";
import { type FakeClock, fakeTimeQueue } from "./_helpers.ts";

/** An alarm kept in memory, as a Durable Object's storage keeps one. */
class MemoryAlarm {
  at: number | null = null;
  sets = 0;
  getAlarm = () => Promise.resolve(this.at);
  setAlarm = (at: number) => {
    this.sets++;
    this.at = at;
  };
  deleteAlarm = () => {
    this.at = null;
  };
}

async function setup(
  options: Partial<AlarmWorkerOptions> = {},
): Promise<{ queue: TaskQueue; clock: FakeClock; alarm: MemoryAlarm; worker: AlarmWorker }> {
  const { queue, clock } = await fakeTimeQueue();
  const alarm = new MemoryAlarm();
  const worker = new AlarmWorker(queue, {
    alarms: alarm,
    handlers: { echo: (payload) => payload },
    ...options,
  });
  return { queue, clock, alarm, worker };
}

async function done(queue: TaskQueue, worker: AlarmWorker): Promise<void> {
  worker.close();
  await queue.close();
}

describe("AlarmWorker", () => {
  test("an enqueue sets the alarm for the earliest due task; a run clears it when none is left", async () => {
    const { queue, clock, alarm, worker } = await setup();
    try {
      assert.equal(await worker.armed(), null);
      assert.equal(alarm.at, null);
      await queue.enqueue({ name: "later", taskType: "echo", scheduledAt: clock.now + 60_000 });
      assert.equal(await worker.armed(), clock.now + 60_000);
      assert.equal(alarm.at, clock.now + 60_000);
      await queue.enqueue({ name: "now", taskType: "echo", payload: 7 });
      assert.equal(await worker.armed(), clock.now, "a due task moves the alarm to now");

      const first = await worker.alarm();
      assert.deepEqual(first, { ran: 1, exhausted: false, nextAlarmAt: clock.now + 60_000 });
      assert.equal(alarm.at, clock.now + 60_000, "set again for the scheduled task");

      await clock.tick(60_000);
      const second = await worker.alarm();
      assert.deepEqual(second, { ran: 1, exhausted: false, nextAlarmAt: null });
      assert.equal(alarm.at, null, "nothing is due: no alarm");
      assert.equal((await queue.getQueueStats()).completed, 2);
    } finally {
      await done(queue, worker);
    }
  });

  test("a failed attempt sets the alarm for its retry", async () => {
    const { queue, clock, alarm, worker } = await setup({
      handlers: {
        flaky: (_payload, ctx) => {
          if (ctx.task.attempts < 2) throw new Error("not yet");
          return "ok";
        },
      },
    });
    try {
      const id = await queue.enqueue({ name: "flaky", taskType: "flaky" });
      const first = await worker.alarm();
      assert.equal(first.ran, 1);
      assert.equal(first.nextAlarmAt, clock.now + 1000, "the queue's backoff: 1 s");
      assert.equal(alarm.at, clock.now + 1000);
      await clock.tick(1000);
      assert.equal((await worker.alarm()).nextAlarmAt, null);
      const task = await queue.getTask(id);
      assert.equal(task?.status, TaskStatus.COMPLETED);
      assert.equal(task?.attempts, 2);
    } finally {
      await done(queue, worker);
    }
  });

  test("the budget ends the claims; the running handler gets its grace; the rest are due at once", async () => {
    let release: (() => void)[] = [];
    const { queue, clock, alarm, worker } = await setup({
      budgetMs: 1000,
      graceMs: 500,
      pollIntervalMs: 100,
      handlers: {
        slow: () => new Promise<string>((resolve) => release.push(() => resolve("done"))),
      },
    });
    try {
      await queue.enqueueMany([1, 2, 3].map((n) => ({ name: `slow ${n}`, taskType: "slow" })));
      const running = worker.alarm();
      await clock.sleeping(2);
      release.shift()!(); // the first finishes before the budget
      await clock.tick(1000); // the budget is spent while the second runs
      assert.equal(release.length, 1, "the second task started; the third is not claimed");
      release.shift()!(); // within the grace
      const run = await running;
      assert.equal(run.ran, 2);
      assert.equal(run.exhausted, true);
      assert.equal(run.nextAlarmAt, clock.now, "work is left: the next alarm is now");
      assert.equal(alarm.at, clock.now);
      const stats = await queue.getQueueStats();
      assert.equal(stats.completed, 2);
      assert.equal(stats.pending, 1);
      assert.equal(stats.running, 0);
      release = [];
    } finally {
      await done(queue, worker);
    }
  });

  test("a handler still running after the grace is aborted and its task given back", async () => {
    const { queue, clock, worker } = await setup({
      budgetMs: 1000,
      graceMs: 200,
      handlers: {
        stuck: (_payload, ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
          ),
      },
    });
    try {
      const id = await queue.enqueue({ name: "stuck", taskType: "stuck" });
      const running = worker.alarm();
      await clock.sleeping(1);
      await clock.tick(1200);
      const run = await running;
      assert.equal(run.exhausted, true);
      const task = await queue.getTask(id);
      assert.equal(task?.status, TaskStatus.PENDING, "given back, not failed");
      assert.equal(run.nextAlarmAt, clock.now, "and due again at once");
    } finally {
      await done(queue, worker);
    }
  });

  test("due tasks it cannot claim (a paused type) wait 1 s, 2 s, 4 s … up to maxIdleMs; arm() ends the wait", async () => {
    const { queue, clock, alarm, worker } = await setup({ maxIdleMs: 4000 });
    try {
      await queue.pause("echo");
      await queue.enqueue({ name: "held", taskType: "echo" });
      const waits = [];
      for (let i = 0; i < 4; i++) {
        const run = await worker.alarm();
        assert.equal(run.ran, 0);
        waits.push(run.nextAlarmAt! - clock.now);
        await clock.tick(run.nextAlarmAt! - clock.now);
      }
      assert.deepEqual(waits, [1000, 2000, 4000, 4000]);
      await queue.resume("echo");
      assert.equal(await worker.arm(), clock.now, "a change the queue has no event for: arm()");
      assert.equal(alarm.at, clock.now);
      const run = await worker.alarm();
      assert.deepEqual(run, { ran: 1, exhausted: false, nextAlarmAt: null });
    } finally {
      await done(queue, worker);
    }
  });

  test("a lease left by a crashed worker sets the alarm for its expiry, and the alarm recovers it", async () => {
    const { queue, clock, worker } = await setup();
    try {
      await queue.enqueue({ name: "orphan", taskType: "echo", payload: "x" });
      const claimed = await queue.dequeue({ workerId: "gone", leaseMs: 5000 });
      assert.ok(claimed);
      assert.equal(await worker.arm(), clock.now + 5000, "the lease's expiry");
      await clock.tick(5000);
      const run = await worker.alarm();
      assert.equal(run.ran, 1);
      const task = await queue.getTask(claimed.id);
      assert.equal(task?.status, TaskStatus.COMPLETED);
      assert.equal(task?.attempts, 2);
    } finally {
      await done(queue, worker);
    }
  });

  test("a schedule's slot sets the alarm, and the alarm fires it and runs its task", async () => {
    const { queue, clock, worker } = await setup();
    try {
      clock.now = Date.UTC(2030, 0, 1, 0, 0, 30);
      await queue.schedule("every-minute", "* * * * *", { taskType: "echo", payload: "tick" });
      assert.equal(await worker.arm(), Date.UTC(2030, 0, 1, 0, 1, 0));
      clock.now = Date.UTC(2030, 0, 1, 0, 1, 0);
      const run = await worker.alarm();
      assert.equal(run.ran, 1);
      assert.equal(run.nextAlarmAt, Date.UTC(2030, 0, 1, 0, 2, 0), "the next slot");
      const [task] = await queue.getTasksByStatus(TaskStatus.COMPLETED);
      assert.equal(task?.result, "tick");
    } finally {
      await done(queue, worker);
    }
  });

  test("bad options throw and arm nothing", async () => {
    const { queue } = await fakeTimeQueue();
    const alarm = new MemoryAlarm();
    const handlers = { echo: (payload: unknown) => payload };
    try {
      assert.throws(
        () => new AlarmWorker(queue, { handlers, alarms: {} as MemoryAlarm }),
        (error: unknown) => error instanceof TypeError && /alarms\.getAlarm/.test(error.message),
      );
      for (const bad of [{ budgetMs: 0 }, { graceMs: -1 }, { maxIdleMs: Number.NaN }]) {
        assert.throws(
          () => new AlarmWorker(queue, { handlers, alarms: alarm, ...bad }),
          RangeError,
        );
      }
      await queue.enqueue({ name: "x", taskType: "echo" });
      await Promise.resolve();
      assert.equal(alarm.sets, 0, "no worker was made, so nothing armed");
    } finally {
      await queue.close();
    }
  });
});
