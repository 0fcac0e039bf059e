import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus, Worker } from "../mod.ts";
import { FakeClock, memoryQueue, tempDir } from "./_helpers.ts";

const at = (iso: string) => Date.parse(iso);

describe("recurring schedules", () => {
  test("each slot enqueues exactly one task, due at its slot", async () => {
    const clock = new FakeClock(at("2026-03-01T02:59:00Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    const schedule = await queue.schedule("daily-cleanup", "0 3 * * *", {
      taskType: "cleanup",
      payload: { olderThanDays: 30 },
    });
    assert.equal(schedule.nextRunAt, at("2026-03-01T03:00:00Z"));
    assert.deepEqual(await queue.runSchedules(), []);
    clock.now = at("2026-03-01T03:00:00Z");
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
    await queue.close();
  });

  test("time zones: 03:00 in Europe/Paris is 02:00 UTC in winter", async () => {
    const clock = new FakeClock(at("2026-01-10T12:00:00Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    const schedule = await queue.schedule("paris", "0 3 * * *", {
      taskType: "t",
      timezone: "Europe/Paris",
    });
    assert.equal(schedule.nextRunAt, at("2026-01-11T02:00:00Z"));
    await queue.close();
  });

  test("after downtime only the latest missed slot fires", async () => {
    const clock = new FakeClock(at("2026-03-01T00:00:30Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    await queue.schedule("minutely", "* * * * *", { taskType: "t" });
    clock.now = at("2026-03-01T05:00:30Z"); // five hours down
    assert.equal((await queue.runSchedules()).length, 1);
    assert.equal((await queue.getSchedules())[0]!.nextRunAt, at("2026-03-01T05:01:00Z"));
    await queue.close();
  });

  test("paused and removed schedules do not fire; replacing keeps one schedule", async () => {
    const clock = new FakeClock(at("2026-03-01T00:00:00Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    await queue.schedule("s", "* * * * *", { taskType: "t", paused: true });
    clock.advance(120_000);
    assert.deepEqual(await queue.runSchedules(), []);
    await queue.schedule("s", "*/5 * * * *", { taskType: "t2" });
    assert.equal((await queue.getSchedules()).length, 1);
    assert.equal((await queue.getSchedules())[0]!.taskType, "t2");
    assert.equal(await queue.unschedule("s"), true);
    assert.equal(await queue.unschedule("s"), false);
    clock.advance(3_600_000);
    assert.deepEqual(await queue.runSchedules(), []);
    await queue.close();
  });

  test("bad patterns and time zones are refused and nothing is stored", async () => {
    const { queue } = await memoryQueue();
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
    await queue.close();
  });

  test("schedules survive a restart", async () => {
    const tmp = tempDir();
    try {
      const clock = new FakeClock(at("2026-03-01T00:00:00Z"));
      let queue = await TaskQueue.open(tmp.file("s.db"), { clock: clock.fn });
      await queue.schedule("hourly", "0 * * * *", { taskType: "t" });
      await queue.close();
      clock.now = at("2026-03-01T01:00:00Z");
      queue = await TaskQueue.open(tmp.file("s.db"), { clock: clock.fn });
      assert.equal((await queue.runSchedules()).length, 1);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a worker's tick() runs due schedules, then their tasks", async () => {
    const clock = new FakeClock(at("2026-03-01T00:00:00Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    await queue.schedule("report", "0 * * * *", { taskType: "report" });
    const worker = new Worker(queue, { handlers: { report: () => "sent" } });
    assert.equal(await worker.tick(), 0);
    clock.now = at("2026-03-01T01:00:00Z");
    assert.equal(await worker.tick(), 1);
    const [done] = await queue.getTasksByStatus(TaskStatus.COMPLETED);
    assert.equal(done!.result, "sent");
    await queue.close();
  });

  test("re-declaring a schedule (as apps do at boot) keeps its pending slot", async () => {
    const clock = new FakeClock(at("2026-03-01T02:59:00Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    const declare = () => queue.schedule("daily", "0 3 * * *", { taskType: "t" });
    await declare();
    clock.now = at("2026-03-01T03:00:00.300Z"); // due, and no worker has polled yet
    await declare(); // a restart re-declares it
    assert.equal((await queue.runSchedules()).length, 1, "the due slot still fires");
    await declare(); // a process whose clock is behind declares it again
    assert.deepEqual(await queue.runSchedules(), [], "the fired slot does not come back");
    assert.equal((await queue.getSchedules())[0]!.nextRunAt, at("2026-03-02T03:00:00Z"));
    clock.now = at("2026-03-06T12:00:00Z"); // down for days, then a restart
    await declare();
    assert.equal((await queue.runSchedules()).length, 1, "the latest missed slot fires");
    await queue.schedule("daily", "30 4 * * *", { taskType: "t" }); // a new time: a new slot
    assert.equal((await queue.getSchedules())[0]!.nextRunAt, at("2026-03-07T04:30:00Z"));
    await queue.close();
  });
});
