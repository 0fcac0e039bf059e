// Events, metrics counters and pruning through the queue API are in the conformance suite
// (tests/conformance/events.ts, stats_retention.ts). What stays here: rendering, logging, and a
// backlog written straight into the SQLite file.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DatabaseSync } from "node:sqlite";
import { type Logger, TaskQueue, TaskStatus, toPrometheus, Worker } from "../mod.ts";
import { memoryQueue } from "./_helpers.ts";

describe("metrics", () => {
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
});
