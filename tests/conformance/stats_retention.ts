/**
 * Conformance: reading the queue back (counts, lists, metrics) and pruning finished tasks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the stats, lists, metrics and retention cases. */
export function statsRetention(suite: Suite): void {
  suite.test("stats have every status, zero or not", async (h) => {
    const queue = await h.open();
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    await queue.enqueueMany([1, 2, 3, 4, 5].map((n) => ({ name: `${n}`, taskType: "t" })));
    await queue.completeTask((await queue.dequeue())!);
    await queue.failTask((await queue.dequeue())!, "x", { retry: false });
    await queue.dequeue();
    await queue.cancelTask(5);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 1,
      running: 1,
      completed: 1,
      failed: 1,
      cancelled: 1,
    });
  });

  suite.test("getTasksByStatus lists newest first, with limit and offset", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    for (const task of await queue.dequeueMany(5)) await queue.completeTask(task);
    const list = await queue.getTasksByStatus(TaskStatus.COMPLETED, 3);
    assert.deepEqual(list.map((t) => t.id), ids.slice(2).reverse());
    const page2 = await queue.getTasksByStatus(TaskStatus.COMPLETED, 3, 3);
    assert.deepEqual(page2.map((t) => t.id), ids.slice(0, 2).reverse());
    assert.deepEqual(await queue.getTasksByStatus(TaskStatus.FAILED), []);
  });

  suite.test("finished tasks are listed most recently finished first", async (h) => {
    const queue = await h.open();
    const [a, b, c] = await queue.enqueueMany(
      ["a", "b", "c"].map((name) => ({ name, taskType: "t" })),
    );
    const tasks = await queue.dequeueMany(3);
    for (const id of [b, c, a]) {
      h.clock.advance(10);
      await queue.completeTask(tasks.find((task) => task.id === id)!);
    }
    const listed = await queue.getTasksByStatus(TaskStatus.COMPLETED);
    assert.deepEqual(listed.map((task) => task.id), [a, c, b]);
  });

  suite.test("stats stay exact through every transition and prune", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 8 }, (_, i) => ({ name: `${i}`, taskType: "t", maxRetries: 0 })),
    );
    const [t1, t2, t3, t4] = await queue.dequeueMany(4);
    await queue.completeTask(t1!);
    await queue.failTask(t2!, "x");
    await queue.failTask(t3!, "y");
    await queue.cancelTask(ids[7]!);
    await queue.retryTask(t3!.id); // failed → pending
    await queue.cancelTask(t4!.id); // a running task is only marked
    const counted = async () => {
      const stats = await queue.getQueueStats();
      for (const status of Object.values(TaskStatus)) {
        const listed = await queue.getTasksByStatus(status, 1000);
        assert.equal(stats[status], listed.length, `${status} counted as listed`);
      }
      return stats;
    };
    assert.deepEqual(await counted(), {
      pending: 4,
      running: 1,
      completed: 1,
      failed: 1,
      cancelled: 1,
    });
    h.clock.advance(1000);
    assert.equal(await queue.prune({ olderThanMs: 0, statuses: ["completed", "cancelled"] }), 2);
    assert.deepEqual(await counted(), {
      pending: 4,
      running: 1,
      completed: 0,
      failed: 1,
      cancelled: 0,
    });
  });

  suite.test("ids are never given twice, even after the newest tasks are pruned", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany([1, 2, 3].map((n) => ({ name: `${n}`, taskType: "t" })));
    for (const id of ids) await queue.cancelTask(id);
    assert.equal(await queue.prune({ olderThanMs: 0 }), 3);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    const next = await queue.enqueue({ name: "after", taskType: "t" });
    assert.ok(next > ids[2]!, `id ${next} comes after ${ids[2]}`);
    const [more] = await queue.enqueueMany([{ name: "more", taskType: "t" }]);
    assert.equal(more, next + 1);
  });

  suite.test("getTasksByStatus searches names and task types, in any case", async (h) => {
    const queue = await h.open();
    const [welcome, resize, report] = await queue.enqueueMany([
      { name: "Send Welcome email", taskType: "email" },
      { name: "Resize avatar", taskType: "images" },
      { name: "Monthly report", taskType: "REPORTS" },
    ]);
    const search = async (text: string) =>
      (await queue.getTasksByStatus(TaskStatus.PENDING, 100, 0, { search: text })).map((t) => t.id);
    assert.deepEqual(await search("welcome"), [welcome]);
    assert.deepEqual(await search("report"), [report], "in the name or the type");
    assert.deepEqual(await search("E"), [welcome, resize, report], "in claim order");
    assert.deepEqual(await search("AVATAR"), [resize]);
    assert.deepEqual(await search("no such thing"), []);
    assert.equal((await search("")).length, 3, "an empty search keeps everything");
  });

  suite.test("counters, live counts and duration percentiles per task type", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([
      ...Array.from({ length: 10 }, (_, i) => ({ name: `e${i}`, taskType: "email" })),
      { name: "r", taskType: "report", maxRetries: 0 },
      { name: "later", taskType: "report" },
    ]);
    for (let i = 1; i <= 10; i++) {
      h.clock.advance(10);
      const task = (await queue.dequeue({ taskTypes: ["email"] }))!;
      h.clock.advance(i * 100);
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
  });

  suite.test("prune deletes finished tasks by age and status, oldest first, up to a limit", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({ name: `${i}`, taskType: "t", maxRetries: 0 })),
    );
    const tasks = await queue.dequeueMany(6);
    for (const task of tasks.slice(0, 3)) {
      await queue.completeTask(task);
      h.clock.advance(1000);
    }
    await queue.failTask(tasks[3]!, "x");
    const pendingId = await queue.enqueue({ name: "live", taskType: "t" });
    h.clock.advance(10_000);
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
  });

  suite.test("prune keeps tasks younger than the age, to the millisecond", async (h) => {
    const queue = await h.open();
    const [a, b] = await queue.enqueueMany([
      { name: "a", taskType: "t" },
      { name: "b", taskType: "t" },
    ]);
    await queue.cancelTask(a!);
    h.clock.advance(1);
    await queue.cancelTask(b!);
    h.clock.advance(999);
    assert.equal(await queue.prune({ olderThanMs: 1000 }), 1);
    assert.equal(await queue.getTask(a!), null);
    assert.notEqual(await queue.getTask(b!), null);
  });

  suite.test("the automatic policy prunes from maintain(), at most once per interval", async (h) => {
    const queue = await h.open({ retention: { olderThanMs: 1000, intervalMs: 5000 } });
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    await queue.completeTask((await queue.dequeue())!);
    h.clock.advance(1000);
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 1 });
    await queue.completeTask((await queue.dequeue())!);
    h.clock.advance(1000);
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 0 }, "not due yet");
    h.clock.advance(4000);
    assert.deepEqual(await queue.maintain(), { scheduled: [], pruned: 1 });
  });
}
