/**
 * Worker faults (issue 9): a draining backlog must not starve timers or heartbeats; a worker never
 * runs more handlers than its concurrency, nor one task twice, even when its own lease ran out; a
 * transition the storage refused for a passing reason is retried while the lease holds. (What a
 * failing handler leads to is in `worker_failures_test.ts`.)
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  StorageError,
  TaskPriority,
  TaskQueue,
  TaskStatus,
  Worker,
  type WorkerQueue,
} from "../mod.ts";
import { fakeTimeQueue, memoryQueue, settle } from "./_helpers.ts";

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Counts the handlers running at once, and the most there ever were. */
function counter(): { enter: () => void; leave: () => void; now: number; max: number } {
  const state = {
    now: 0,
    max: 0,
    enter: () => {
      state.now++;
      state.max = Math.max(state.max, state.now);
    },
    leave: () => void state.now--,
  };
  return state;
}

/** A queue whose `completeTask` (or `failTask`) throws a StorageError the first `failures` times. */
function flakyQueue(
  queue: TaskQueue,
  verb: "completeTask" | "failTask",
  failures: number,
  code: "busy" | "full" | "io" | "corrupt" = "busy",
): { queue: WorkerQueue; calls: () => number } {
  let calls = 0;
  const wrapped: WorkerQueue = {
    logger: queue.logger,
    clock: queue.clock,
    notifier: queue.notifier,
    dequeueMany: (limit, options) => queue.dequeueMany(limit, options),
    heartbeat: (task) => queue.heartbeat(task),
    progress: (task, value) => queue.progress(task, value),
    completeTask: (task, result) => {
      if (verb === "completeTask" && ++calls <= failures) {
        return Promise.reject(new StorageError(code, "database is locked", { action: "complete" }));
      }
      return queue.completeTask(task, result);
    },
    failTask: (task, error, options) => {
      if (verb === "failTask" && ++calls <= failures) {
        return Promise.reject(new StorageError(code, "database or disk is full"));
      }
      return queue.failTask(task, error, options);
    },
    release: (task) => queue.release(task),
    cancelRequested: (ids) => queue.cancelRequested(ids),
    maintain: () => queue.maintain(),
  };
  return { queue: wrapped, calls: () => calls };
}

describe("Worker faults: a draining backlog (bug 1)", () => {
  test("timers keep firing and a long task keeps its lease while thousands of sync handlers drain", async () => {
    const queue = await TaskQueue.open(":memory:", { leaseMs: 400 });
    try {
      const backlog = 3000;
      const long = await queue.enqueue({
        name: "long",
        taskType: "long",
        priority: TaskPriority.HIGH,
      });
      for (let i = 0; i < backlog; i += 1000) {
        await queue.enqueueMany(
          Array.from({ length: 1000 }, (_, j) => ({ name: `${i + j}`, taskType: "noop" })),
        );
      }
      let ran = 0;
      let longRuns = 0;
      let drained = false;
      const worker = new Worker(queue, {
        handlers: {
          noop: () => void ran++,
          // Longer than its lease: only heartbeats keep it.
          long: async () => {
            longRuns++;
            await new Promise((resolve) => setTimeout(resolve, 1000));
            return "done";
          },
        },
        concurrency: 4,
        pollIntervalMs: 50,
      });
      let last = performance.now();
      let maxGap = 0;
      let firings = 0;
      const interval = setInterval(() => {
        const now = performance.now();
        if (!drained) {
          maxGap = Math.max(maxGap, now - last);
          firings++;
        }
        last = now;
      }, 10);
      worker.start();
      // The backlog drains; then the long task finishes.
      while (ran < backlog) await new Promise((resolve) => setTimeout(resolve, 5));
      drained = true;
      await worker.onIdle();
      await worker.stop();
      clearInterval(interval);
      assert.equal(ran, backlog);
      assert.ok(firings > 0, "the interval fired during the drain");
      assert.ok(maxGap < 250, `a 10 ms interval waited ${maxGap.toFixed(0)} ms during the drain`);
      const task = (await queue.getTask(long))!;
      assert.equal(task.status, TaskStatus.COMPLETED);
      assert.equal(task.attempts, 1, "the long task was claimed once");
      assert.equal(task.retryCount, 0, "its lease never expired");
      assert.equal(longRuns, 1);
    } finally {
      await queue.close();
    }
  });
});

describe("Worker faults: runs tracked per claim (bug 2)", () => {
  test("a run whose lease was lost keeps its slot until its handler returns; stop() waits for it", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 3000 });
    const gates = new Map<number, ReturnType<typeof gate>>();
    const active = counter();
    const started: number[] = [];
    const errors: unknown[] = [];
    const worker = new Worker(queue, {
      handlers: {
        // Ignores its signal: it runs until the test lets it go.
        block: async (_payload, ctx) => {
          active.enter();
          started.push(ctx.task.id);
          const g = gate();
          gates.set(ctx.task.id * 100 + ctx.task.attempts, g);
          await g.promise;
          active.leave();
          return "late";
        },
      },
      concurrency: 2,
      onError: (error) => errors.push(error),
    });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await queue.enqueue({ name: `${i}`, taskType: "block" }));
    worker.start();
    await settle(10);
    assert.equal(active.now, 2);
    assert.equal(worker.running, 2);
    // The process stalls past the lease; another process recovers the two tasks.
    clock.now += 10_000;
    assert.equal(await queue.recover(), 2);
    // The heartbeats now find their leases lost: the runs abort, but the handlers ignore it.
    await clock.tick(2000);
    await settle(10);
    assert.ok(errors.length > 0, "the lost leases were reported");
    assert.equal(active.now, 2, "no new handler while the old ones still run");
    assert.equal(worker.running, 2, "running counts the handlers that still run");
    assert.equal(active.max, 2);
    // stop() waits for the handlers whose attempts already ended.
    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await settle(10);
    assert.equal(stopped, false, "stop() returned while handlers still ran");
    for (const g of gates.values()) g.open();
    await stopping;
    assert.equal(stopped, true);
    assert.equal(worker.running, 0);
    assert.equal(active.max, 2, `${active.max} handlers ran at once with concurrency 2`);
    await queue.close();
  });

  test("a worker whose own lease ran out extends it before claiming, so it never runs a task twice", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 3000 });
    const runs = new Map<number, number>();
    const active = counter();
    const g = gate();
    const worker = new Worker(queue, {
      handlers: {
        block: async (_payload, ctx) => {
          runs.set(ctx.task.id, (runs.get(ctx.task.id) ?? 0) + 1);
          active.enter();
          await g.promise;
          active.leave();
          return "ok";
        },
      },
      concurrency: 2,
    });
    const a = await queue.enqueue({ name: "a", taskType: "block" });
    worker.start();
    await settle(10);
    assert.equal(active.now, 1);
    // The event loop stalled past the lease (no timer fired); then a task is enqueued and the
    // worker's free slot claims: its recovery would take back the worker's own task.
    clock.now += 10_000;
    const b = await queue.enqueue({ name: "b", taskType: "block" });
    await settle(20);
    assert.equal(runs.get(a), 1, "task a ran once");
    assert.equal(runs.get(b), 1, "the free slot took task b");
    assert.equal(active.max, 2);
    assert.equal(worker.running, 2);
    const running = (await queue.getTask(a))!;
    assert.equal(running.attempts, 1, "task a was not claimed again");
    assert.equal(running.retryCount, 0, "no lease expired");
    g.open();
    await worker.onIdle();
    await worker.stop();
    assert.equal((await queue.getTask(a))!.status, TaskStatus.COMPLETED);
    assert.equal((await queue.getTask(b))!.status, TaskStatus.COMPLETED);
    await queue.close();
  });

  test("a task claimed again while its earlier handler still runs waits for that handler", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 3000 });
    const active = counter();
    const perTask = new Map<number, number>();
    let maxPerTask = 0;
    const gates: ReturnType<typeof gate>[] = [];
    const worker = new Worker(queue, {
      handlers: {
        block: async (_payload, ctx) => {
          const n = (perTask.get(ctx.task.id) ?? 0) + 1;
          perTask.set(ctx.task.id, n);
          maxPerTask = Math.max(maxPerTask, n);
          active.enter();
          const g = gate();
          gates.push(g);
          await g.promise;
          perTask.set(ctx.task.id, perTask.get(ctx.task.id)! - 1);
          active.leave();
          return ctx.task.attempts;
        },
      },
      concurrency: 2,
      onError: () => {},
    });
    const a = await queue.enqueue({ name: "a", taskType: "block" });
    worker.start();
    await settle(10);
    // Another process takes the lease over (recovers it), then this worker's heartbeat finds
    // it lost; its free slot claims task a again while the first handler still runs.
    clock.now += 10_000;
    assert.equal(await queue.recover(), 1);
    await clock.tick(1000);
    await settle(20);
    assert.equal((await queue.getTask(a))!.attempts, 2, "claimed again");
    assert.equal(maxPerTask, 1, "task a ran twice at once");
    assert.equal(active.now, 1);
    gates[0]!.open(); // the first handler returns: the second run starts
    await settle(20);
    assert.equal(gates.length, 2);
    assert.equal(maxPerTask, 1);
    gates[1]!.open();
    await worker.onIdle();
    await worker.stop();
    const task = (await queue.getTask(a))!;
    assert.equal(task.status, TaskStatus.COMPLETED);
    assert.equal(task.result, 2, "the second claim's run completed it");
    await queue.close();
  });
});

describe("Worker faults: a transition the storage refused (bug 5)", () => {
  test("a completion refused as busy is retried while the lease holds, heartbeating", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 1000 });
    // 8 failures: 50+100+200+333+333+333+333+333 ms of retries, beyond the 1 s lease.
    const flaky = flakyQueue(queue, "completeTask", 8);
    const errors: unknown[] = [];
    const id = await queue.enqueue({ name: "a", taskType: "t" });
    const worker = new Worker(flaky.queue, {
      handlers: { t: () => "done" },
      onError: (error) => errors.push(error),
    });
    worker.start();
    for (let i = 0; i < 40 && flaky.calls() < 9; i++) await clock.tick(100);
    await worker.onIdle();
    await worker.stop();
    const task = (await queue.getTask(id))!;
    assert.equal(flaky.calls(), 9);
    assert.equal(task.status, TaskStatus.COMPLETED);
    assert.equal(task.result, "done");
    assert.equal(task.retryCount, 0, "not recorded as a lease expiry");
    assert.deepEqual(errors, []);
    await queue.close();
  });

  test("a failure refused as full is retried too; the attempt's backoff follows", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 1000 });
    const flaky = flakyQueue(queue, "failTask", 2, "full");
    const id = await queue.enqueue({ name: "a", taskType: "t", maxRetries: 2 });
    const worker = new Worker(flaky.queue, {
      handlers: {
        t: () => {
          throw new Error("upstream said no");
        },
      },
      onError: () => {},
    });
    worker.start();
    for (let i = 0; i < 10 && flaky.calls() < 3; i++) await clock.tick(100);
    await settle(10);
    await worker.stop();
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING);
    assert.equal(task.error, "upstream said no");
    assert.equal(task.retryCount, 1);
    assert.ok(task.scheduledAt > clock.now, "it waits for its backoff");
    await queue.close();
  });

  test("the worker gives up once the lease is gone, and reports the storage error", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 1000 });
    const flaky = flakyQueue(queue, "completeTask", Infinity);
    const errors: unknown[] = [];
    const id = await queue.enqueue({ name: "a", taskType: "t" });
    // Heartbeats fail too: the storage is gone for good.
    const worker = new Worker(
      { ...flaky.queue, heartbeat: () => Promise.reject(new StorageError("io", "disk I/O error")) },
      { handlers: { t: () => "done" }, onError: (error) => errors.push(error) },
    );
    worker.start();
    await settle();
    const claimed = (await queue.getTask(id))!;
    for (let i = 0; i < 30 && errors.length === 0; i++) await clock.tick(100);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof StorageError);
    assert.ok(clock.now >= claimed.leaseExpiresAt!, "it gave up only once the lease was gone");
    const calls = flaky.calls();
    assert.ok(calls > 1 && calls < 20, `${calls} attempts`);
    // Stopping waits for the attempt in progress (the task, recovered, may have run again).
    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    for (let i = 0; i < 30 && !stopped; i++) await clock.tick(100);
    await stopping;
    const after = flaky.calls();
    await clock.tick(2000);
    assert.equal(flaky.calls(), after, "no retry once stopped");
    assert.ok(errors.every((error) => error instanceof StorageError));
    assert.notEqual((await queue.getTask(id))!.status, TaskStatus.COMPLETED);
    await queue.close();
  });

  test("a corrupt database is not retried", async () => {
    const { queue } = await memoryQueue();
    const flaky = flakyQueue(queue, "completeTask", Infinity, "corrupt");
    const errors: unknown[] = [];
    await queue.enqueue({ name: "a", taskType: "t" });
    const worker = new Worker(flaky.queue, {
      handlers: { t: () => "done" },
      onError: (error) => errors.push(error),
    });
    assert.equal(await worker.tick(), 1);
    assert.equal(flaky.calls(), 1);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as StorageError).code, "corrupt");
    await queue.close();
  });
});
