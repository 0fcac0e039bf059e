/**
 * Conformance: what enqueue stores and the order claims hand tasks out in: priority, then due
 * time, then id; scheduled tasks stay invisible until due; a claim takes at most its limit.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskPriority, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the ordering and claiming cases. */
export function ordering(suite: Suite): void {
  suite.test("a task round-trips with every documented field", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({
      name: "Send welcome email",
      taskType: "send_email",
      payload: { to: "user@example.com", subject: "Welcome!", tags: ["a", 1, null, true] },
      priority: TaskPriority.HIGH,
      maxRetries: 5,
    });
    const task = await queue.getTask(id);
    assert.deepEqual(task, {
      id,
      name: "Send welcome email",
      taskType: "send_email",
      payload: { to: "user@example.com", subject: "Welcome!", tags: ["a", 1, null, true] },
      priority: 3,
      status: "pending",
      result: null,
      error: null,
      retryCount: 0,
      maxRetries: 5,
      attempts: 0,
      uniqueKey: null,
      createdAt: h.clock.now,
      scheduledAt: h.clock.now,
      startedAt: null,
      completedAt: null,
      failedAt: null,
      workerId: null,
      leaseMs: null,
      leaseExpiresAt: null,
      timeoutMs: null,
      retryPolicy: null,
      progress: null,
      errors: [],
      cancelRequestedAt: null,
      concurrencyKey: null,
    });
  });

  suite.test("values round-trip exactly: JSON, text, large integers, far dates", async (h) => {
    const queue = await h.open();
    const payload = {
      big: 2 ** 52,
      negative: -(2 ** 53 - 1),
      float: 0.1 + 0.2,
      text: "naïve ☃ 日本語 \u0000 'quoted' \"double\" ; -- not a comment",
      nested: { list: [[], {}, [null]], empty: "" },
    };
    const id = await queue.enqueue({
      name: "émoji 🎉",
      taskType: "t",
      payload,
      scheduledAt: 8.64e15,
      uniqueKey: "ключ",
      timeoutMs: 2 ** 31 - 1,
      retry: { type: "exponential", baseMs: 10, factor: 1.5, maxMs: 1000, jitter: 0.25 },
    });
    const task = (await queue.getTask(id))!;
    assert.deepEqual(task.payload, payload);
    assert.equal(task.name, "émoji 🎉");
    assert.equal(task.scheduledAt, 8.64e15);
    assert.equal(task.uniqueKey, "ключ");
    assert.equal(task.timeoutMs, 2 ** 31 - 1);
    assert.deepEqual(task.retryPolicy, {
      type: "exponential",
      baseMs: 10,
      factor: 1.5,
      maxMs: 1000,
      jitter: 0.25,
    });
    assert.equal(await queue.getTask(id + 1), null, "an unknown id is null, not an error");
    const scalar = await queue.enqueue({ name: "s", taskType: "t", payload: "just text" });
    const claimed = (await queue.dequeue())!;
    assert.equal(claimed.id, scalar);
    assert.equal(claimed.payload, "just text");
    const done = await queue.completeTask(claimed, [1, "two", { three: 3 }]);
    assert.deepEqual(done.result, [1, "two", { three: 3 }]);
    assert.deepEqual((await queue.getTask(scalar))!.result, [1, "two", { three: 3 }]);
  });

  suite.test("defaults: NORMAL priority, 3 retries, empty payload, due now", async (h) => {
    const queue = await h.open();
    const task = (await queue.getTask(await queue.enqueue({ name: "n", taskType: "t" })))!;
    assert.equal(task.priority, TaskPriority.NORMAL);
    assert.equal(task.maxRetries, 3);
    assert.deepEqual(task.payload, {});
    assert.equal(task.scheduledAt, h.clock.now);
  });

  suite.test("ids increase in enqueue order", async (h) => {
    const queue = await h.open();
    const first = await queue.enqueue({ name: "a", taskType: "t" });
    const batch = await queue.enqueueMany([
      { name: "b", taskType: "t" },
      { name: "c", taskType: "u" },
    ]);
    const last = await queue.enqueue({ name: "d", taskType: "t" });
    const ids = [first, ...batch, last];
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, 4);
  });

  suite.test("dequeue order: priority, then scheduledAt, then id", async (h) => {
    const queue = await h.open();
    const t0 = h.clock.now;
    const low = await queue.enqueue({ name: "low", taskType: "t", priority: TaskPriority.LOW });
    const n1 = await queue.enqueue({ name: "n1", taskType: "t", scheduledAt: t0 - 10 });
    const n2 = await queue.enqueue({ name: "n2", taskType: "t", scheduledAt: t0 - 10 });
    const n0 = await queue.enqueue({ name: "n0", taskType: "t", scheduledAt: t0 - 20 });
    const crit = await queue.enqueue({
      name: "crit",
      taskType: "t",
      priority: TaskPriority.CRITICAL,
    });
    const high = await queue.enqueue({ name: "high", taskType: "t", priority: TaskPriority.HIGH });
    const order: number[] = [];
    for (let task = await queue.dequeue(); task; task = await queue.dequeue()) order.push(task.id);
    assert.deepEqual(order, [crit, high, n0, n1, n2, low]);
  });

  suite.test("the pending list is in claim order: the next to run first", async (h) => {
    const queue = await h.open();
    const t0 = h.clock.now;
    const low = await queue.enqueue({ name: "low", taskType: "t", priority: TaskPriority.LOW });
    const n1 = await queue.enqueue({ name: "n1", taskType: "t", scheduledAt: t0 - 10 });
    const n2 = await queue.enqueue({ name: "n2", taskType: "t", scheduledAt: t0 - 10 });
    const n0 = await queue.enqueue({ name: "n0", taskType: "t", scheduledAt: t0 - 20 });
    const later = await queue.enqueue({ name: "later", taskType: "t", scheduledAt: t0 + 1000 });
    const high = await queue.enqueue({ name: "high", taskType: "t", priority: TaskPriority.HIGH });
    const listed = async (limit = 100, offset = 0) =>
      (await queue.getTasksByStatus(TaskStatus.PENDING, limit, offset)).map((t) => t.id);
    assert.deepEqual(await listed(), [high, n0, n1, n2, later, low]);
    assert.deepEqual(await listed(2, 2), [n1, n2], "pages follow the same order");
    // The list's first due task is the one a claim takes.
    assert.equal((await queue.dequeue())!.id, high);
    assert.deepEqual(await listed(), [n0, n1, n2, later, low]);
  });

  suite.test("dequeueMany returns tasks in claim order", async (h) => {
    const queue = await h.open();
    const low = await queue.enqueue({ name: "low", taskType: "t", priority: TaskPriority.LOW });
    const normal = await queue.enqueue({ name: "normal", taskType: "t" });
    const crit = await queue.enqueue({
      name: "crit",
      taskType: "t",
      priority: TaskPriority.CRITICAL,
    });
    const claimed = await queue.dequeueMany(10);
    assert.deepEqual(claimed.map((t) => t.id), [crit, normal, low]);
    assert.ok(claimed.every((t) => t.status === TaskStatus.RUNNING && t.attempts === 1));
  });

  suite.test("FIFO within one priority and due time", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 50 }, (_, i) => ({ name: `t${i}`, taskType: "t" })),
    );
    const claimed = await queue.dequeueMany(50);
    assert.deepEqual(claimed.map((t) => t.id), ids);
  });

  suite.test("FIFO within a priority across separate enqueues and claims", async (h) => {
    const queue = await h.open();
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(await queue.enqueue({ name: `t${i}`, taskType: i % 2 ? "a" : "b" }));
    }
    await queue.enqueue({ name: "low", taskType: "a", priority: TaskPriority.LOW });
    const seen: number[] = [];
    for (const limit of [1, 5, 2, 4]) {
      seen.push(...(await queue.dequeueMany(limit)).map((t) => t.id));
    }
    assert.deepEqual(seen, ids);
  });

  suite.test("a scheduled task is not dequeued before its time", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({
      name: "Daily cleanup",
      taskType: "cleanup",
      scheduledAt: new Date(h.clock.now + 3_600_000),
    });
    assert.equal(await queue.dequeue(), null);
    h.clock.advance(3_599_999);
    assert.equal(await queue.dequeue(), null);
    h.clock.advance(1);
    assert.equal((await queue.dequeue())?.id, id);
  });

  suite.test("scheduled tasks stay invisible to dequeueMany and do not block due ones", async (h) => {
    const queue = await h.open();
    const t0 = h.clock.now;
    const later = await queue.enqueue({
      name: "later",
      taskType: "t",
      priority: TaskPriority.CRITICAL,
      scheduledAt: t0 + 100,
    });
    const sooner = await queue.enqueue({
      name: "sooner",
      taskType: "t",
      priority: TaskPriority.CRITICAL,
      scheduledAt: t0 + 50,
    });
    const due = await queue.enqueue({ name: "due", taskType: "t", priority: TaskPriority.LOW });
    assert.deepEqual((await queue.dequeueMany(10)).map((t) => t.id), [due]);
    assert.equal((await queue.getQueueStats()).pending, 2, "the scheduled tasks wait, pending");
    h.clock.advance(50);
    assert.deepEqual((await queue.dequeueMany(10)).map((t) => t.id), [sooner]);
    h.clock.advance(50);
    const last = (await queue.dequeueMany(10))[0]!;
    assert.equal(last.id, later);
    assert.equal(last.startedAt, t0 + 100);
  });

  suite.test("a claim takes at most its limit; the rest stay pending in order", async (h) => {
    const queue = await h.open();
    const ids = await queue.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    assert.deepEqual((await queue.dequeueMany(3)).map((t) => t.id), ids.slice(0, 3));
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 2,
      running: 3,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    assert.deepEqual((await queue.dequeueMany(1)).map((t) => t.id), ids.slice(3, 4));
    assert.deepEqual((await queue.dequeueMany(100)).map((t) => t.id), ids.slice(4));
    assert.deepEqual(await queue.dequeueMany(100), []);
  });

  suite.test("dequeue claims with a lease, worker id and attempt count", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 5000, workerId: "w1" }))!;
    assert.equal(task.status, TaskStatus.RUNNING);
    assert.equal(task.startedAt, h.clock.now);
    assert.equal(task.leaseMs, 5000);
    assert.equal(task.leaseExpiresAt, h.clock.now + 5000);
    assert.equal(task.workerId, "w1");
    assert.equal(task.attempts, 1);
    assert.equal(await queue.dequeue(), null, "a running task is not handed out again");
    assert.deepEqual(await queue.getTask(task.id), task, "the claim is what is stored");
  });

  suite.test("the default lease is 30 s and the queue's leaseMs option changes it", async (h) => {
    const a = await h.open();
    await a.enqueue({ name: "n", taskType: "t" });
    assert.equal((await a.dequeue())!.leaseMs, 30_000);
    const b = await h.open({ leaseMs: 1234 });
    await b.enqueue({ name: "n", taskType: "t" });
    assert.equal((await b.dequeue())!.leaseMs, 1234);
  });

  suite.test("taskTypes limits what dequeue claims", async (h) => {
    const queue = await h.open();
    const email = await queue.enqueue({ name: "e", taskType: "send_email" });
    const report = await queue.enqueue({
      name: "r",
      taskType: "report",
      priority: TaskPriority.CRITICAL,
    });
    assert.equal((await queue.dequeue({ taskTypes: ["send_email"] }))?.id, email);
    assert.equal(await queue.dequeue({ taskTypes: ["send_email", "other"] }), null);
    assert.equal((await queue.dequeue({ taskTypes: ["other", "report"] }))?.id, report);
  });

  suite.test("enqueueMany is all or nothing", async (h) => {
    const queue = await h.open();
    await assert.rejects(
      queue.enqueueMany([
        { name: "ok", taskType: "t" },
        { name: "", taskType: "t" },
      ]),
      /Invalid enqueue options: 1\.name must not be empty/,
    );
    assert.equal((await queue.getQueueStats()).pending, 0);
    assert.deepEqual(await queue.enqueueMany([]), []);
  });
}
