import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskNotFoundError, TaskPriority, TaskQueue, TaskStateError, TaskStatus } from "../mod.ts";
import { memoryQueue, tempDir } from "./_helpers.ts";

describe("enqueue and dequeue", () => {
  test("a task round-trips with every documented field", async () => {
    const { queue, clock } = await memoryQueue();
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
      createdAt: clock.now,
      scheduledAt: clock.now,
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
    });
    await queue.close();
  });

  test("defaults: NORMAL priority, 3 retries, empty payload, due now", async () => {
    const { queue, clock } = await memoryQueue();
    const task = (await queue.getTask(await queue.enqueue({ name: "n", taskType: "t" })))!;
    assert.equal(task.priority, TaskPriority.NORMAL);
    assert.equal(task.maxRetries, 3);
    assert.deepEqual(task.payload, {});
    assert.equal(task.scheduledAt, clock.now);
    await queue.close();
  });

  test("dequeue order: priority, then scheduledAt, then id", async () => {
    const { queue, clock } = await memoryQueue();
    const t0 = clock.now;
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
    await queue.close();
  });

  test("FIFO within one priority and due time", async () => {
    const { queue } = await memoryQueue();
    const ids = await queue.enqueueMany(
      Array.from({ length: 50 }, (_, i) => ({ name: `t${i}`, taskType: "t" })),
    );
    const claimed = await queue.dequeueMany(50);
    assert.deepEqual(claimed.map((t) => t.id), ids);
    await queue.close();
  });

  test("a scheduled task is not dequeued before its time", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({
      name: "Daily cleanup",
      taskType: "cleanup",
      scheduledAt: new Date(clock.now + 3_600_000),
    });
    assert.equal(await queue.dequeue(), null);
    clock.advance(3_599_999);
    assert.equal(await queue.dequeue(), null);
    clock.advance(1);
    assert.equal((await queue.dequeue())?.id, id);
    await queue.close();
  });

  test("dequeue claims with a lease, worker id and attempt count", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ leaseMs: 5000, workerId: "w1" }))!;
    assert.equal(task.status, TaskStatus.RUNNING);
    assert.equal(task.startedAt, clock.now);
    assert.equal(task.leaseMs, 5000);
    assert.equal(task.leaseExpiresAt, clock.now + 5000);
    assert.equal(task.workerId, "w1");
    assert.equal(task.attempts, 1);
    assert.equal(await queue.dequeue(), null, "a running task is not handed out again");
    await queue.close();
  });

  test("the default lease is 30 s and the queue's leaseMs option changes it", async () => {
    const a = await memoryQueue();
    await a.queue.enqueue({ name: "n", taskType: "t" });
    assert.equal((await a.queue.dequeue())!.leaseMs, 30_000);
    await a.queue.close();
    const b = await memoryQueue({ leaseMs: 1234 });
    await b.queue.enqueue({ name: "n", taskType: "t" });
    assert.equal((await b.queue.dequeue())!.leaseMs, 1234);
    await b.queue.close();
  });

  test("taskTypes limits what dequeue claims", async () => {
    const { queue } = await memoryQueue();
    const email = await queue.enqueue({ name: "e", taskType: "send_email" });
    const report = await queue.enqueue({
      name: "r",
      taskType: "report",
      priority: TaskPriority.CRITICAL,
    });
    assert.equal((await queue.dequeue({ taskTypes: ["send_email"] }))?.id, email);
    assert.equal(await queue.dequeue({ taskTypes: ["send_email", "other"] }), null);
    assert.equal((await queue.dequeue({ taskTypes: ["other", "report"] }))?.id, report);
    await queue.close();
  });

  test("enqueueMany is all or nothing", async () => {
    const { queue } = await memoryQueue();
    await assert.rejects(
      queue.enqueueMany([
        { name: "ok", taskType: "t" },
        { name: "", taskType: "t" },
      ]),
      /Invalid enqueue options: 1\.name must not be empty/,
    );
    assert.equal((await queue.getQueueStats()).pending, 0);
    assert.deepEqual(await queue.enqueueMany([]), []);
    await queue.close();
  });
});

describe("complete, fail and retry", () => {
  test("complete stores the result and the completion time", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    clock.advance(250);
    const done = await queue.completeTask(task, { sent: true });
    assert.equal(done.status, TaskStatus.COMPLETED);
    assert.deepEqual(done.result, { sent: true });
    assert.equal(done.completedAt, clock.now);
    assert.equal(done.leaseExpiresAt, null);
    assert.deepEqual((await queue.getTask(task.id))?.result, { sent: true });
    await queue.close();
  });

  test("complete by id works on a running task and refuses a pending one", async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.completeTask(id), (error: unknown) => {
      assert.ok(error instanceof TaskStateError);
      assert.equal(error.message, `Cannot complete task ${id}: it is pending`);
      return true;
    });
    await queue.dequeue();
    assert.equal((await queue.completeTask(id)).result, null);
    await assert.rejects(queue.completeTask(999), TaskNotFoundError);
    await queue.close();
  });

  test("a task runs at most maxRetries + 1 times, with growing delays, then FAILED", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "flaky", taskType: "api", maxRetries: 2 });
    const delays: number[] = [];
    let runs = 0;
    for (;;) {
      let task = await queue.dequeue();
      if (!task) {
        const pending = (await queue.getTask(id))!;
        if (pending.status !== TaskStatus.PENDING) break;
        delays.push(pending.scheduledAt - clock.now);
        clock.now = pending.scheduledAt;
        task = (await queue.dequeue())!;
      }
      runs++;
      await queue.failTask(task, new Error(`boom ${runs}`));
    }
    const task = (await queue.getTask(id))!;
    assert.equal(runs, 3);
    assert.deepEqual(delays, [1000, 2000]);
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.retryCount, 3);
    assert.equal(task.error, "boom 3");
    assert.equal(task.failedAt, clock.now);
    assert.equal(task.completedAt, clock.now);
    await queue.close();
  });

  test("maxRetries 0 fails on the first error; retry: false skips retries", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueue({ name: "once", taskType: "t", maxRetries: 0 });
    const once = await queue.failTask((await queue.dequeue())!, "nope");
    assert.equal(once.status, TaskStatus.FAILED);
    await queue.enqueue({ name: "fatal", taskType: "t", maxRetries: 9 });
    const fatal = await queue.failTask((await queue.dequeue())!, "bad input", { retry: false });
    assert.equal(fatal.status, TaskStatus.FAILED);
    assert.equal(fatal.retryCount, 1);
    await queue.close();
  });

  test("retryDelayMs overrides the backoff for one retry", async () => {
    const { queue, clock } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const failed = await queue.failTask((await queue.dequeue())!, "later", { retryDelayMs: 42 });
    assert.equal(failed.status, TaskStatus.PENDING);
    assert.equal(failed.scheduledAt, clock.now + 42);
    await queue.close();
  });

  test("the backoff has jitter by default, bounded by the curve", async () => {
    const clock = { now: 1_000_000 };
    const queue = await TaskQueue.open(":memory:", { clock: () => clock.now });
    const ids = await queue.enqueueMany(
      Array.from({ length: 20 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    for (const task of await queue.dequeueMany(20)) await queue.failTask(task, "x");
    const delays = await Promise.all(
      ids.map(async (id) => (await queue.getTask(id))!.scheduledAt - clock.now),
    );
    assert.ok(delays.every((d) => d >= 500 && d <= 1000), `delays ${delays}`);
    assert.ok(new Set(delays).size > 1, "jitter spreads the retries");
    await queue.close();
  });

  test("a custom backoff function is used", async () => {
    const { queue, clock } = await memoryQueue({ backoff: (n) => n * 7 });
    await queue.enqueue({ name: "n", taskType: "t" });
    const failed = await queue.failTask((await queue.dequeue())!, "x");
    assert.equal(failed.scheduledAt, clock.now + 7);
    await queue.close();
  });
});

describe("cancel and redrive", () => {
  test("cancel a pending task; it is never dequeued", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const cancelled = await queue.cancelTask(id);
    assert.equal(cancelled.status, TaskStatus.CANCELLED);
    assert.equal(cancelled.completedAt, clock.now);
    assert.equal(await queue.dequeue(), null);
    await queue.close();
  });

  test("cancel marks a running task, and refuses finished tasks and unknown ids", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    const marked = await queue.cancelTask(id);
    assert.equal(marked.status, TaskStatus.RUNNING);
    assert.equal(marked.cancelRequestedAt, clock.now);
    assert.deepEqual(await queue.cancelRequested([id, 999]), [id]);
    await queue.completeTask(task);
    await assert.rejects(queue.cancelTask(id), /Cannot cancel task \d+: it is completed/);
    await assert.rejects(queue.cancelTask(12345), /Cannot cancel task 12345: no such task/);
    assert.equal((await queue.getTask(id))!.status, TaskStatus.COMPLETED);
    await queue.close();
  });

  test("retryTask redrives failed and cancelled tasks with retries reset", async () => {
    const { queue, clock } = await memoryQueue();
    const failedId = await queue.enqueue({ name: "f", taskType: "t", maxRetries: 0 });
    await queue.failTask((await queue.dequeue())!, "down");
    const cancelledId = await queue.enqueue({ name: "c", taskType: "t" });
    await queue.cancelTask(cancelledId);
    clock.advance(10);
    for (const id of [failedId, cancelledId]) {
      const task = await queue.retryTask(id);
      assert.equal(task.status, TaskStatus.PENDING);
      assert.equal(task.retryCount, 0);
      assert.equal(task.scheduledAt, clock.now);
      assert.equal(task.completedAt, null);
    }
    const again = (await queue.dequeue())!;
    assert.equal(again.id, failedId);
    assert.equal(again.attempts, 2);
    await queue.close();
  });

  test("retryTask refuses pending, running and completed tasks", async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.retryTask(id), /Cannot retry task \d+: it is pending/);
    const task = (await queue.dequeue())!;
    await assert.rejects(queue.retryTask(id), /it is running/);
    await queue.completeTask(task);
    await assert.rejects(queue.retryTask(id), TaskStateError);
    await assert.rejects(queue.retryTask(77), TaskNotFoundError);
    await queue.close();
  });
});

describe("unique keys", () => {
  test("a live key returns the existing id; a finished one allows a new task", async () => {
    const { queue } = await memoryQueue();
    const first = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "user:1" });
    assert.equal(await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "user:1" }), first);
    const task = (await queue.dequeue())!;
    assert.equal(await queue.enqueue({ name: "c", taskType: "t", uniqueKey: "user:1" }), first);
    await queue.completeTask(task);
    const second = await queue.enqueue({ name: "d", taskType: "t", uniqueKey: "user:1" });
    assert.notEqual(second, first);
    assert.equal((await queue.getQueueStats()).pending, 1);
    await queue.close();
  });

  test("duplicates inside one batch collapse to one task", async () => {
    const { queue } = await memoryQueue();
    const ids = await queue.enqueueMany([
      { name: "a", taskType: "t", uniqueKey: "k" },
      { name: "b", taskType: "t" },
      { name: "c", taskType: "t", uniqueKey: "k" },
    ]);
    assert.equal(ids[0], ids[2]);
    assert.equal((await queue.getQueueStats()).pending, 2);
    await queue.close();
  });

  test("redriving a task whose key is live again is refused", async () => {
    const { queue } = await memoryQueue();
    const old = await queue.enqueue({ name: "a", taskType: "t", uniqueKey: "k" });
    await queue.cancelTask(old);
    await queue.enqueue({ name: "b", taskType: "t", uniqueKey: "k" });
    await assert.rejects(queue.retryTask(old), /Cannot retry task \d+: another pending/);
    assert.equal((await queue.getTask(old))!.status, TaskStatus.CANCELLED);
    await queue.close();
  });
});

describe("stats and lists", () => {
  test("stats have every status, zero or not", async () => {
    const { queue } = await memoryQueue();
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
    await queue.close();
  });

  test("getTasksByStatus lists newest first, with limit and offset", async () => {
    const { queue } = await memoryQueue();
    const ids = await queue.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    for (const task of await queue.dequeueMany(5)) await queue.completeTask(task);
    const list = await queue.getTasksByStatus(TaskStatus.COMPLETED, 3);
    assert.deepEqual(list.map((t) => t.id), ids.slice(2).reverse());
    const page2 = await queue.getTasksByStatus(TaskStatus.COMPLETED, 3, 3);
    assert.deepEqual(page2.map((t) => t.id), ids.slice(0, 2).reverse());
    assert.deepEqual(await queue.getTasksByStatus(TaskStatus.FAILED), []);
    await queue.close();
  });
});

describe("persistence", () => {
  test("tasks survive close and reopen, ids keep increasing", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("tasks.db");
      let queue = await TaskQueue.open(path);
      const a = await queue.enqueue({ name: "a", taskType: "t", payload: { n: 1 } });
      const b = await queue.enqueue({ name: "b", taskType: "t", priority: TaskPriority.HIGH });
      await queue.completeTask((await queue.dequeue())!, "done");
      await queue.close();

      queue = await TaskQueue.open({ path });
      assert.deepEqual(await queue.getQueueStats(), {
        pending: 1,
        running: 0,
        completed: 1,
        failed: 0,
        cancelled: 0,
      });
      assert.equal((await queue.getTask(b))!.result, "done");
      assert.deepEqual((await queue.getTask(a))!.payload, { n: 1 });
      const c = await queue.enqueue({ name: "c", taskType: "t" });
      assert.ok(c > b);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a closed queue refuses work with a clear error", async () => {
    const { queue } = await memoryQueue();
    await queue.close();
    await queue.close();
    await assert.rejects(
      queue.enqueue({ name: "n", taskType: "t" }),
      /Cannot enqueue: the queue is closed/,
    );
    await assert.rejects(queue.getQueueStats(), /the queue is closed/);
  });

  test("open() without a path uses tasks.db in the working directory", async () => {
    const tmp = tempDir();
    const cwd = process.cwd();
    try {
      process.chdir(tmp.dir);
      const queue = await TaskQueue.open();
      await queue.enqueue({ name: "n", taskType: "t" });
      await queue.close();
      const again = await TaskQueue.open(tmp.file("tasks.db"));
      assert.equal((await again.getQueueStats()).pending, 1);
      await again.close();
    } finally {
      process.chdir(cwd);
      tmp.cleanup();
    }
  });
});
