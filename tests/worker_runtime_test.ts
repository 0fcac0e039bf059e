import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Task, type TaskAbortedError, TaskStatus, Worker } from "../mod.ts";
import { fakeTimeQueue, memoryQueue } from "./_helpers.ts";

/** Resolves when `signal` aborts, with its reason. */
const abortedWith = (signal: AbortSignal) =>
  new Promise<TaskAbortedError>((resolve) =>
    signal.addEventListener("abort", () => resolve(signal.reason), { once: true })
  );

describe("timeouts", () => {
  test("a task type's timeoutMs aborts the signal and fails the attempt", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "slow", taskType: "slow", maxRetries: 0 });
    let reason: TaskAbortedError | undefined;
    const worker = new Worker(queue, {
      handlers: {
        slow: {
          timeoutMs: 20,
          handler: async (_payload, ctx) => {
            reason = await abortedWith(ctx.signal);
          },
        },
      },
    });
    const ticking = worker.tick();
    await clock.tick(19);
    assert.equal(reason?.cause, undefined, "not aborted before its timeout");
    assert.equal(worker.running, 1);
    await clock.tick(1);
    await ticking;
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.error, "Task timed out after 20 ms");
    assert.equal(reason?.cause, "timeout");
    await queue.close();
  });

  test("a task's own timeoutMs wins, and a handler that ignores the signal is not awaited", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "t", taskType: "t", timeoutMs: 15, maxRetries: 1 });
    const worker = new Worker(queue, {
      handlers: { t: { timeoutMs: 60_000, handler: () => new Promise(() => {}) } },
    });
    const ticking = worker.tick();
    await clock.tick(14);
    assert.equal(worker.running, 1, "still running before its own timeout");
    await clock.tick(1);
    assert.equal(await ticking, 1, "tick() returned without the handler settling");
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING, "a timeout is a failed attempt, retried");
    assert.equal(task.retryCount, 1);
    assert.deepEqual(task.errors.map((e) => e.error), ["Task timed out after 15 ms"]);
    await queue.close();
  });
});

describe("heartbeats and progress", () => {
  test("a running worker extends its leases, so a long task is not taken over", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "long", taskType: "long" });
    const start = clock.now;
    const finish = Promise.withResolvers<void>();
    const worker = new Worker(queue, {
      leaseMs: 60, // a heartbeat every 20 ms
      handlers: { long: () => finish.promise.then(() => "done") },
    });
    const ticking = worker.tick();
    let stolen: Task | null = null;
    for (let i = 0; i < 18; i++) {
      await clock.tick(10);
      stolen ??= await queue.dequeue({ workerId: "thief" });
    }
    assert.equal(stolen, null, "the lease never expired while the worker lived");
    const running = (await queue.getTask(id))!;
    assert.ok(running.leaseExpiresAt! > start + 180, "the lease follows the clock");
    finish.resolve();
    await ticking;
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.COMPLETED);
    assert.equal(task.attempts, 1);
    await queue.close();
  });

  test("ctx.progress() is visible in getTask() and as an event", async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "import", taskType: "import" });
    const seen: unknown[] = [];
    queue.on("progress", (event) => seen.push(event.progress));
    let during: Task | null = null;
    const worker = new Worker(queue, {
      handlers: {
        import: async (_payload, ctx) => {
          await ctx.progress(50);
          await ctx.progress({ rows: 1000, of: 1000 });
          during = await queue.getTask(ctx.task.id);
        },
      },
    });
    await worker.tick();
    assert.deepEqual(during!.progress, { rows: 1000, of: 1000 });
    assert.deepEqual(seen, [50, { rows: 1000, of: 1000 }]);
    assert.deepEqual((await queue.getTask(id))!.progress, { rows: 1000, of: 1000 });
    await assert.rejects(queue.progress(id, () => 1), /Invalid progress/);
    await queue.close();
  });
});

describe("cancel a running task", () => {
  test("the worker aborts the handler within a poll interval; the task ends CANCELLED", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "encode", taskType: "encode", maxRetries: 5 });
    let reason: TaskAbortedError | undefined;
    const started = Promise.withResolvers<void>();
    const worker = new Worker(queue, {
      pollIntervalMs: 10,
      handlers: {
        encode: async (_payload, ctx) => {
          started.resolve();
          reason = await abortedWith(ctx.signal);
          throw reason;
        },
      },
    });
    worker.start();
    await started.promise;
    const cancelledEvents: number[] = [];
    queue.on("cancelled", ({ task }) => cancelledEvents.push(task.id));
    await queue.cancelTask(id);
    await clock.tick(9);
    assert.equal(reason?.cause, undefined, "seen at the next poll, not before");
    await clock.tick(1);
    assert.equal(reason?.cause, "cancelled");
    await worker.onIdle();
    await worker.stop();
    assert.equal(reason?.cause, "cancelled");
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.CANCELLED);
    assert.deepEqual(cancelledEvents, [id]);
    await queue.close();
  });

  test("a cancel-requested task whose worker died ends CANCELLED, not retried", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 5 });
    await queue.dequeue({ leaseMs: 10 });
    await queue.cancelTask(id);
    clock.advance(10);
    assert.equal(await queue.recover(), 1);
    assert.equal((await queue.getTask(id))!.status, TaskStatus.CANCELLED);
    await queue.close();
  });
});

describe("graceful shutdown", () => {
  test("stop() waits for running tasks to finish", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const started = Promise.withResolvers<void>();
    const worker = new Worker(queue, {
      pollIntervalMs: 5,
      handlers: {
        t: async () => {
          started.resolve();
          await clock.sleep(30);
          return "finished";
        },
      },
    });
    worker.start();
    await started.promise;
    let stopped = false;
    const stopping = worker.stop({ timeoutMs: 5_000 }).then(() => (stopped = true));
    await clock.tick(29);
    assert.equal(stopped, false, "stop() waits for the running task");
    await clock.tick(1);
    await stopping;
    assert.equal((await queue.getTask(id))!.result, "finished");
    await queue.close();
  });

  test("stop({ timeoutMs }) aborts what is left and gives the leases back at once", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const started = Promise.withResolvers<void>();
    let reason: TaskAbortedError | undefined;
    const worker = new Worker(queue, {
      pollIntervalMs: 5,
      handlers: {
        t: async (_payload, ctx) => {
          started.resolve();
          reason = await abortedWith(ctx.signal);
          await new Promise(() => {}); // ignores the signal: the worker does not wait for it
        },
      },
    });
    worker.start();
    await started.promise;
    const stopping = worker.stop({ timeoutMs: 20 });
    await clock.tick(19);
    assert.equal(reason?.cause, undefined, "the grace period is not over");
    await clock.tick(1);
    await stopping;
    assert.equal(reason?.cause, "shutdown");
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING);
    assert.equal(task.retryCount, 0, "a released task has not failed an attempt");
    const next = (await queue.dequeue({ workerId: "other" }))!;
    assert.equal(next.id, id, "another worker picks it up at once");
    assert.equal(next.attempts, 2);
    await queue.close();
  });
});
