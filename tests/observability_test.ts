import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DatabaseSync } from "node:sqlite";
import {
  type Logger,
  type QueueEvents,
  TaskQueue,
  TaskStatus,
  toPrometheus,
  Worker,
} from "../mod.ts";
import { memoryQueue } from "./_helpers.ts";

describe("events", () => {
  test("every transition emits its typed event", async () => {
    const { queue, clock } = await memoryQueue();
    const log: string[] = [];
    const names: (keyof QueueEvents)[] = [
      "enqueued",
      "started",
      "completed",
      "failed",
      "dead",
      "retried",
      "cancelled",
      "progress",
    ];
    for (const name of names) {
      queue.on(name, (event) => {
        const id = "task" in event ? event.task.id : event.taskId;
        log.push(`${name} #${id}`);
      });
    }
    const [ok, flaky, doomed, dropped] = await queue.enqueueMany([
      { name: "ok", taskType: "t", priority: 4 },
      { name: "flaky", taskType: "t", priority: 3 },
      { name: "doomed", taskType: "t", priority: 2, maxRetries: 0 },
      { name: "dropped", taskType: "t", priority: 1 },
    ]);
    const a = (await queue.dequeue())!;
    await queue.progress(a, 50);
    await queue.completeTask(a, "ok");
    await queue.failTask((await queue.dequeue())!, "again later");
    await queue.failTask((await queue.dequeue())!, "fatal");
    await queue.cancelTask(dropped!);
    await queue.retryTask(doomed!);
    clock.advance(60_000);
    assert.deepEqual(log, [
      `enqueued #${ok}`,
      `enqueued #${flaky}`,
      `enqueued #${doomed}`,
      `enqueued #${dropped}`,
      `started #${ok}`,
      `progress #${ok}`,
      `completed #${ok}`,
      `started #${flaky}`,
      `failed #${flaky}`,
      `started #${doomed}`,
      `dead #${doomed}`,
      `cancelled #${dropped}`,
      `retried #${doomed}`,
    ]);
    await queue.close();
  });

  test("a lease that expires in another worker's claim emits failed or dead", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t", maxRetries: 0 });
    const dead: string[] = [];
    queue.on("dead", ({ error }) => dead.push(error));
    await queue.dequeue({ leaseMs: 10 });
    clock.advance(10);
    await queue.dequeue();
    assert.equal(dead.length, 1);
    assert.match(dead[0]!, /Lease expired after 10 ms/);
    await queue.close();
  });

  test("unsubscribe works; a throwing listener is logged, not fatal", async () => {
    const errors: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message, fields) => errors.push(`${message} ${fields?.error}`),
    };
    const { queue } = await memoryQueue({ logger });
    let calls = 0;
    const off = queue.on("enqueued", () => void calls++);
    queue.on("enqueued", () => {
      throw new Error("listener bug");
    });
    await queue.enqueue({ name: "a", taskType: "t" });
    off();
    await queue.enqueue({ name: "b", taskType: "t" });
    assert.equal(calls, 1);
    assert.deepEqual(errors, [
      'A "enqueued" listener threw Error: listener bug',
      'A "enqueued" listener threw Error: listener bug',
    ]);
    queue.on("enqueued", async () => {
      await Promise.resolve();
      throw new Error("async listener bug");
    });
    await queue.enqueue({ name: "c", taskType: "t" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(errors.includes('A "enqueued" listener threw Error: async listener bug'));
    assert.throws(() => queue.on("finished" as never, () => {}), /Invalid event name/);
    assert.equal((await queue.getQueueStats()).pending, 3);
    await queue.close();
  });

  test("enqueueing a live uniqueKey again emits no enqueued event", async () => {
    const { queue } = await memoryQueue();
    const seen: string[] = [];
    queue.on("enqueued", (event) => void seen.push(event.name));
    await queue.enqueue({ name: "original", taskType: "t", uniqueKey: "k" });
    await queue.enqueue({ name: "duplicate", taskType: "t", uniqueKey: "k" });
    await queue.enqueueMany([{ name: "dup2", taskType: "t", uniqueKey: "k" }, {
      name: "new",
      taskType: "t",
    }]);
    assert.deepEqual(seen, ["original", "new"]);
    await queue.close();
  });
});

describe("metrics", () => {
  test("counters, live counts and duration percentiles per task type", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueueMany([
      ...Array.from({ length: 10 }, (_, i) => ({ name: `e${i}`, taskType: "email" })),
      { name: "r", taskType: "report", maxRetries: 0 },
      { name: "later", taskType: "report" },
    ]);
    for (let i = 1; i <= 10; i++) {
      clock.advance(10);
      const task = (await queue.dequeue({ taskTypes: ["email"] }))!;
      clock.advance(i * 100);
      await queue.completeTask(task);
    }
    await queue.failTask((await queue.dequeue())!, "x");
    await queue.dequeue();
    const metrics = await queue.metrics();
    assert.deepEqual(metrics.totals, {
      pending: 0,
      running: 1,
      completed: 10,
      failed: 1,
      cancelled: 0,
    });
    const email = metrics.taskTypes.email!;
    assert.equal(email.completed, 10);
    assert.equal(email.pending, 0);
    assert.equal(email.runMs.count, 10);
    assert.equal(email.runMs.p50, 500);
    assert.equal(email.runMs.p90, 900);
    assert.equal(email.runMs.p99, 1000);
    assert.equal(email.runMs.max, 1000);
    assert.equal(email.waitMs.count, 10);
    const report = metrics.taskTypes.report!;
    assert.equal(report.dead, 1);
    assert.equal(report.running, 1);
    await queue.close();
  });

  test("Prometheus text exposition", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: 'quote"type' });
    await queue.completeTask((await queue.dequeue())!);
    await queue.enqueue({ name: "m", taskType: "email" });
    const text = toPrometheus(await queue.metrics());
    const lines = text.split("\n");
    assert.ok(lines.includes('tasklite_tasks{status="completed"} 1'));
    assert.ok(lines.includes('tasklite_completed_total{task_type="quote\\"type"} 1'));
    assert.ok(lines.includes('tasklite_live_tasks{task_type="email",status="pending"} 1'));
    assert.ok(lines.includes("# TYPE tasklite_run_seconds summary"));
    assert.ok(
      lines.some((l) => l.startsWith('tasklite_run_seconds_count{task_type="quote\\"type"} 1')),
    );
    for (const line of lines.filter((l) => l && !l.startsWith("#"))) {
      assert.match(line, /^[a-z_]+(\{.*\})? -?[\d.e+-]+$/, line);
    }
    await queue.close();
  });
});

describe("logging", () => {
  test("quiet by default; a logger hears workers and the queue", async () => {
    const original = { log: console.log, info: console.info, error: console.error };
    const printed: unknown[] = [];
    console.log = console.info = console.error = (...args: unknown[]) => void printed.push(args);
    try {
      const { queue } = await memoryQueue();
      await queue.enqueue({ name: "n", taskType: "t" });
      await new Worker(queue, { handlers: { t: () => 1 } }).tick();
      await queue.close();
    } finally {
      Object.assign(console, original);
    }
    assert.deepEqual(printed, []);

    const lines: string[] = [];
    const logger: Logger = {
      debug: (m) => lines.push(`debug ${m}`),
      info: (m) => lines.push(`info ${m}`),
      warn: (m) => lines.push(`warn ${m}`),
      error: (m) => lines.push(`error ${m}`),
    };
    const { queue } = await memoryQueue({ logger });
    await queue.enqueue({ name: "n", taskType: "t", timeoutMs: 5, maxRetries: 0 });
    await queue.pause("other");
    const worker = new Worker(queue, { handlers: { t: () => new Promise(() => {}) } });
    await worker.tick();
    assert.ok(lines.includes("info Paused"));
    assert.ok(lines.includes("warn Task aborted"));
    assert.ok(lines.includes("debug Task finished"));
    assert.equal((await queue.getTasksByStatus(TaskStatus.FAILED)).length, 1);
    await queue.close();
  });
});

describe("retention", () => {
  test("prune deletes finished tasks by age and status, oldest first, up to a limit", async () => {
    const { queue, clock } = await memoryQueue();
    const ids = await queue.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({ name: `${i}`, taskType: "t", maxRetries: 0 })),
    );
    const tasks = await queue.dequeueMany(6);
    for (const task of tasks.slice(0, 3)) {
      await queue.completeTask(task);
      clock.advance(1000);
    }
    await queue.failTask(tasks[3]!, "x");
    const pendingId = await queue.enqueue({ name: "live", taskType: "t" });
    clock.advance(10_000);
    assert.equal(await queue.prune({ olderThanMs: 10_000, limit: 2 }), 2);
    assert.equal(await queue.getTask(ids[0]!), null);
    assert.equal(await queue.getTask(ids[1]!), null);
    assert.notEqual(await queue.getTask(ids[2]!), null, "the limit kept the newest");
    assert.equal(await queue.prune({ olderThanMs: 10_000 }), 1);
    assert.notEqual(await queue.getTask(ids[3]!), null, "failed tasks are kept by default");
    assert.equal(await queue.prune({ olderThanMs: 0, statuses: ["failed"] }), 1);
    assert.equal((await queue.getTask(pendingId))!.status, TaskStatus.PENDING);
    assert.equal((await queue.getQueueStats()).running, 2, "running tasks are never pruned");
    await assert.rejects(queue.prune({ olderThanMs: -1 }), /olderThanMs must be >= 0/);
    await assert.rejects(
      queue.prune({ olderThanMs: 0, statuses: ["pending" as never] }),
      /must be completed, failed or cancelled/,
    );
    await queue.close();
  });

  test("the automatic policy keeps up with a backlog larger than one batch", async () => {
    const db = new DatabaseSync(":memory:");
    const clock = { now: 10_000_000 };
    const queue = await TaskQueue.open({
      database: db,
      clock: () => clock.now,
      retention: { olderThanMs: 1000 },
    });
    // 25,000 finished rows, backdated straight into the table.
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
      INSERT INTO tasks (name, task_type, payload, priority, status, max_retries,
                         created_at, scheduled_at, completed_at)
      SELECT 't' || i, 'job', '{}', 2, 'completed', 3, 0, 0, 1000 FROM n;`);
    await queue.enqueue({ name: "live", taskType: "job" });
    assert.equal((await queue.maintain()).pruned, 25_000);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 1,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    await queue.close();
    db.close();
  });

  test("the automatic policy prunes from maintain(), at most once per interval", async () => {
    const { queue, clock } = await memoryQueue({
      retention: { olderThanMs: 1000, intervalMs: 5000 },
    });
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    await queue.completeTask((await queue.dequeue())!);
    clock.advance(1000);
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 1 });
    await queue.completeTask((await queue.dequeue())!);
    clock.advance(1000);
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 0 }, "not due yet");
    clock.advance(4000);
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 1 });
    await queue.close();
  });
});
