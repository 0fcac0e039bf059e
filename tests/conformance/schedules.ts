/**
 * Conformance: recurring schedules. Each cron slot enqueues exactly one task, due at its slot,
 * however often and from however many connections `runSchedules` runs; after downtime only the
 * latest missed slot fires.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Suite } from "./_harness.ts";

const at = (iso: string) => Date.parse(iso);

/** Registers the schedule cases. */
export function schedules(suite: Suite): void {
  suite.test("each slot enqueues exactly one task, due at its slot", async (h) => {
    h.clock.now = at("2026-03-01T02:59:00Z");
    const queue = await h.open();
    const schedule = await queue.schedule("daily-cleanup", "0 3 * * *", {
      taskType: "cleanup",
      payload: { olderThanDays: 30 },
    });
    assert.equal(schedule.nextRunAt, at("2026-03-01T03:00:00Z"));
    assert.deepEqual(await queue.runSchedules(), []);
    h.clock.now = at("2026-03-01T03:00:00Z");
    const announced: unknown[] = [];
    queue.on("enqueued", (event) => void announced.push(event));
    const [first] = await queue.runSchedules();
    assert.deepEqual(announced, [{
      taskId: first,
      name: "daily-cleanup",
      taskType: "cleanup",
      priority: 2,
      scheduledAt: at("2026-03-01T03:00:00Z"),
    }]);
    assert.deepEqual(await queue.runSchedules(), [], "the slot fired already");
    const task = (await queue.getTask(first!))!;
    assert.equal(task.name, "daily-cleanup");
    assert.equal(task.taskType, "cleanup");
    assert.deepEqual(task.payload, { olderThanDays: 30 });
    assert.equal(task.scheduledAt, at("2026-03-01T03:00:00Z"));
    const [stored] = await queue.getSchedules();
    assert.equal(stored!.lastRunAt, at("2026-03-01T03:00:00Z"));
    assert.equal(stored!.lastTaskId, first);
    assert.equal(stored!.nextRunAt, at("2026-03-02T03:00:00Z"));
  });

  suite.test("a schedule's task options go onto every task it enqueues", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    const queue = await h.open();
    const schedule = await queue.schedule("hourly-report", "0 * * * *", {
      taskType: "report",
      name: "Hourly report",
      payload: { format: "pdf" },
      priority: 4,
      maxRetries: 7,
      timeoutMs: 60_000,
    });
    assert.deepEqual(
      { ...schedule, createdAt: 0, updatedAt: 0 },
      {
        name: "hourly-report",
        cron: "0 * * * *",
        timezone: null,
        taskType: "report",
        taskName: "Hourly report",
        payload: { format: "pdf" },
        priority: 4,
        maxRetries: 7,
        timeoutMs: 60_000,
        nextRunAt: at("2026-03-01T01:00:00Z"),
        lastRunAt: null,
        lastTaskId: null,
        paused: false,
        createdAt: 0,
        updatedAt: 0,
      },
    );
    const ids: number[] = [];
    for (const hour of ["01", "02"]) {
      h.clock.now = at(`2026-03-01T${hour}:00:30Z`);
      ids.push(...await queue.runSchedules());
    }
    assert.equal(ids.length, 2);
    for (const [i, id] of ids.entries()) {
      const task = (await queue.getTask(id))!;
      assert.equal(task.name, "Hourly report");
      assert.equal(task.taskType, "report");
      assert.deepEqual(task.payload, { format: "pdf" });
      assert.equal(task.priority, 4);
      assert.equal(task.maxRetries, 7);
      assert.equal(task.timeoutMs, 60_000);
      assert.equal(task.scheduledAt, at(`2026-03-01T0${i + 1}:00:00Z`), "due at its slot");
    }
    const claimed = await queue.dequeueMany(10, { taskTypes: ["report"] });
    assert.deepEqual(claimed.map((t) => t.id), ids, "the slots' tasks, oldest slot first");
  });

  suite.test("time zones: 03:00 in Europe/Paris is 02:00 UTC in winter", async (h) => {
    h.clock.now = at("2026-01-10T12:00:00Z");
    const queue = await h.open();
    const schedule = await queue.schedule("paris", "0 3 * * *", {
      taskType: "t",
      timezone: "Europe/Paris",
    });
    assert.equal(schedule.nextRunAt, at("2026-01-11T02:00:00Z"));
  });

  suite.test("after downtime only the latest missed slot fires", async (h) => {
    h.clock.now = at("2026-03-01T00:00:30Z");
    const queue = await h.open();
    await queue.schedule("minutely", "* * * * *", { taskType: "t" });
    h.clock.now = at("2026-03-01T05:00:30Z"); // five hours down
    assert.equal((await queue.runSchedules()).length, 1);
    assert.equal((await queue.getSchedules())[0]!.nextRunAt, at("2026-03-01T05:01:00Z"));
  });

  suite.test("paused and removed schedules do not fire; replacing keeps one schedule", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    const queue = await h.open();
    await queue.schedule("s", "* * * * *", { taskType: "t", paused: true });
    h.clock.advance(120_000);
    assert.deepEqual(await queue.runSchedules(), []);
    await queue.schedule("s", "*/5 * * * *", { taskType: "t2" });
    assert.equal((await queue.getSchedules()).length, 1);
    assert.equal((await queue.getSchedules())[0]!.taskType, "t2");
    assert.equal(await queue.unschedule("s"), true);
    assert.equal(await queue.unschedule("s"), false);
    h.clock.advance(3_600_000);
    assert.deepEqual(await queue.runSchedules(), []);
  });

  suite.test("unscheduling keeps the tasks a schedule already enqueued", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    const queue = await h.open();
    await queue.schedule("s", "* * * * *", { taskType: "t" });
    h.clock.advance(60_000);
    const [id] = await queue.runSchedules();
    await queue.unschedule("s");
    assert.equal((await queue.getTask(id!))!.status, "pending");
    assert.deepEqual(await queue.getSchedules(), []);
  });

  suite.test("schedules are listed by name, each with its own slot", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    const queue = await h.open();
    await queue.schedule("b-hourly", "0 * * * *", { taskType: "t" });
    await queue.schedule("a-daily", "0 3 * * *", { taskType: "t" });
    await queue.schedule("c-seconds", "*/10 * * * * *", { taskType: "t" });
    const listed = await queue.getSchedules();
    assert.deepEqual(listed.map((s) => s.name), ["a-daily", "b-hourly", "c-seconds"]);
    assert.deepEqual(listed.map((s) => s.nextRunAt), [
      at("2026-03-01T03:00:00Z"),
      at("2026-03-01T01:00:00Z"),
      at("2026-03-01T00:00:10Z"),
    ]);
    h.clock.now = at("2026-03-01T01:00:00Z");
    assert.equal((await queue.runSchedules()).length, 2, "the hourly and the 10-second ones");
  });

  suite.test("bad patterns and time zones are refused and nothing is stored", async (h) => {
    const queue = await h.open();
    await assert.rejects(
      queue.schedule("s", "every day", { taskType: "t" }),
      /Invalid cron pattern/,
    );
    await assert.rejects(
      queue.schedule("s", "61 * * * *", { taskType: "t" }),
      /Invalid cron pattern/,
    );
    await assert.rejects(
      queue.schedule("s", "0 3 * * *", { taskType: "t", timezone: "Mars/Olympus" }),
      /timezone must be an IANA time zone/,
    );
    await assert.rejects(queue.schedule("", "0 3 * * *", { taskType: "t" }), /schedule name/);
    assert.deepEqual(await queue.getSchedules(), []);
  });

  suite.test("re-declaring a schedule (as apps do at boot) keeps its pending slot", async (h) => {
    h.clock.now = at("2026-03-01T02:59:00Z");
    const queue = await h.open();
    const declare = () => queue.schedule("daily", "0 3 * * *", { taskType: "t" });
    await declare();
    h.clock.now = at("2026-03-01T03:00:00.300Z"); // due, and no worker has polled yet
    await declare(); // a restart re-declares it
    assert.equal((await queue.runSchedules()).length, 1, "the due slot still fires");
    await declare(); // a process whose clock is behind declares it again
    assert.deepEqual(await queue.runSchedules(), [], "the fired slot does not come back");
    assert.equal((await queue.getSchedules())[0]!.nextRunAt, at("2026-03-02T03:00:00Z"));
    h.clock.now = at("2026-03-06T12:00:00Z"); // down for days, then a restart
    await declare();
    assert.equal((await queue.runSchedules()).length, 1, "the latest missed slot fires");
    await queue.schedule("daily", "30 4 * * *", { taskType: "t" }); // a new time: a new slot
    assert.equal((await queue.getSchedules())[0]!.nextRunAt, at("2026-03-07T04:30:00Z"));
  });

  suite.test("maintain() fires due schedules", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    const queue = await h.open();
    await queue.schedule("s", "0 * * * *", { taskType: "t" });
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 0 });
    h.clock.now = at("2026-03-01T01:00:00Z");
    const { scheduled } = await queue.maintain();
    assert.equal(scheduled.length, 1);
    assert.equal((await queue.getTask(scheduled[0]!))!.taskType, "t");
  });

  suite.test("schedules survive a restart", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    let queue = await h.open();
    await queue.schedule("hourly", "0 * * * *", { taskType: "t" });
    await queue.close();
    h.clock.now = at("2026-03-01T01:00:00Z");
    queue = await h.reopen(queue);
    assert.equal((await queue.runSchedules()).length, 1);
  }, { needs: "reopen" });

  suite.test("a slot fires once when two connections run the schedules", async (h) => {
    h.clock.now = at("2026-03-01T00:00:00Z");
    const a = await h.open();
    const b = await h.reopen(a);
    await a.schedule("s", "* * * * *", { taskType: "t" });
    const fired: number[] = [];
    for (let minute = 1; minute <= 5; minute++) {
      h.clock.now = at("2026-03-01T00:00:00Z") + minute * 60_000;
      fired.push(...await a.runSchedules(), ...await b.runSchedules(), ...await a.runSchedules());
    }
    assert.equal(fired.length, 5);
    assert.equal((await b.getQueueStats()).pending, 5);
  }, { needs: "reopen" });
}
