import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LeaseLostError, type Task, TaskStatus, Worker } from "../mod.ts";
import { fakeTimeQueue, memoryQueue, settle } from "./_helpers.ts";

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe("Worker", () => {
  test("runs each handler with its payload and stores the result", async () => {
    const { queue } = await memoryQueue();
    const a = await queue.enqueue({ name: "a", taskType: "double", payload: { n: 21 } });
    const b = await queue.enqueue({ name: "b", taskType: "greet", payload: "Ada" });
    const seen: Task[] = [];
    const worker = new Worker(queue, {
      handlers: {
        double: (payload: { n: number }, ctx) => {
          seen.push(ctx.task);
          return payload.n * 2;
        },
        greet: (name: string) => Promise.resolve({ hello: name }),
      },
      workerId: "w-test",
    });
    assert.equal(await worker.tick(), 2);
    assert.equal((await queue.getTask(a))!.result, 42);
    assert.deepEqual((await queue.getTask(b))!.result, { hello: "Ada" });
    assert.equal(seen[0]!.workerId, "w-test");
    assert.equal(seen[0]!.status, TaskStatus.RUNNING);
    await queue.close();
  });

  test("a thrown error fails the attempt with its message, then retries", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "flaky", taskType: "api", maxRetries: 1 });
    let calls = 0;
    const worker = new Worker(queue, {
      handlers: {
        api: () => {
          calls++;
          throw new Error(`HTTP 503 (call ${calls})`);
        },
      },
    });
    assert.equal(await worker.tick(), 1);
    let task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.PENDING);
    assert.equal(task.error, "HTTP 503 (call 1)");
    assert.equal(await worker.tick(), 0, "the retry waits for its backoff");
    clock.now = task.scheduledAt;
    assert.equal(await worker.tick(), 1);
    task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.error, "HTTP 503 (call 2)");
    assert.equal(calls, 2);
    await queue.close();
  });

  test("non-Error throws and unserialisable results fail the task with a message", async () => {
    const { queue } = await memoryQueue();
    const thrown = await queue.enqueue({ name: "a", taskType: "throws", maxRetries: 0 });
    const bad = await queue.enqueue({ name: "b", taskType: "returns", maxRetries: 0 });
    const worker = new Worker(queue, {
      handlers: {
        throws: () => {
          throw { code: 42 };
        },
        returns: () => ({ count: 1n }),
      },
    });
    await worker.tick();
    assert.equal((await queue.getTask(thrown))!.error, '{"code":42}');
    const failed = (await queue.getTask(bad))!;
    assert.equal(failed.status, TaskStatus.FAILED);
    assert.match(failed.error!, /Invalid task result: must be serialisable as JSON/);
    await queue.close();
  });

  test("claims only the task types it has handlers for", async () => {
    const { queue } = await memoryQueue();
    const mine = await queue.enqueue({ name: "a", taskType: "mine" });
    const other = await queue.enqueue({ name: "b", taskType: "other" });
    const worker = new Worker(queue, { handlers: { mine: () => "ok" } });
    assert.equal(await worker.tick(), 1);
    assert.equal((await queue.getTask(mine))!.status, TaskStatus.COMPLETED);
    assert.equal((await queue.getTask(other))!.status, TaskStatus.PENDING);
    await queue.close();
  });

  test('with taskTypes "*", an unknown task type fails for good with a clear error', async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "x", taskType: "mystery", maxRetries: 5 });
    const worker = new Worker(queue, { handlers: { known: () => 1 }, taskTypes: "*" });
    assert.equal(await worker.tick(), 1);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.error, 'No handler registered for task type "mystery"');
    await queue.close();
  });

  test("never runs more than `concurrency` handlers at once", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueueMany(Array.from({ length: 9 }, (_, i) => ({ name: `${i}`, taskType: "t" })));
    let running = 0;
    let peak = 0;
    const worker = new Worker(queue, {
      concurrency: 3,
      handlers: {
        t: async () => {
          peak = Math.max(peak, ++running);
          await settle(1); // let the other slots start
          running--;
        },
      },
    });
    assert.equal(await worker.tick(), 9);
    assert.equal(peak, 3);
    assert.equal((await queue.getQueueStats()).completed, 9);
    await queue.close();
  });

  test("prefetch claims beyond concurrency, runs `concurrency` at once, gives back the rest", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueueMany(
      Array.from({ length: 10 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    const release = gate();
    let running = 0;
    let peak = 0;
    let started = 0;
    const worker = new Worker(queue, {
      concurrency: 2,
      prefetch: 3,
      pollIntervalMs: 10,
      handlers: {
        t: async () => {
          started++;
          peak = Math.max(peak, ++running);
          await release.promise;
          running--;
        },
      },
    });
    worker.start();
    while (started < 2) await settle(1);
    await settle(5);
    assert.equal(worker.running, 2, "two handlers; three prefetched tasks wait");
    assert.equal((await queue.getQueueStats()).running, 5, "claimed: two running, three waiting");
    const stopped = worker.stop(); // gives the waiting three back at once
    await settle(5);
    assert.equal((await queue.getQueueStats()).pending, 8);
    release.open();
    await stopped;
    assert.equal(peak, 2);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 8,
      running: 0,
      completed: 2,
      failed: 0,
      cancelled: 0,
    });
    await queue.close();
  });

  test("prefetched tasks all run, in claim order, when handlers return at once", async () => {
    const { queue } = await memoryQueue();
    const ids = await queue.enqueueMany(
      Array.from({ length: 50 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
    );
    const order: number[] = [];
    const worker = new Worker(queue, {
      concurrency: 1,
      prefetch: 16,
      handlers: { t: (_payload, ctx) => void order.push(ctx.task.id) },
    });
    assert.equal(await worker.tick(), 50);
    assert.deepEqual(order, ids);
    assert.equal((await queue.getQueueStats()).completed, 50);
    await queue.close();
  });

  test("start() polls until stop(); stop() lets the running task finish", async () => {
    const { queue } = await fakeTimeQueue();
    const started = gate();
    const release = gate();
    const id = await queue.enqueue({ name: "slow", taskType: "slow" });
    const worker = new Worker(queue, {
      pollIntervalMs: 5,
      handlers: {
        slow: async () => {
          started.open();
          await release.promise;
          return "finished";
        },
      },
    });
    worker.start();
    worker.start(); // idempotent
    await started.promise;
    assert.equal(worker.running, 1);
    const stopped = worker.stop();
    await queue.enqueue({ name: "late", taskType: "slow" });
    release.open();
    await stopped;
    assert.equal(worker.running, 0);
    assert.equal((await queue.getTask(id))!.result, "finished");
    assert.equal((await queue.getQueueStats()).pending, 1, "nothing claimed after stop()");
    await queue.close();
  });

  test("onIdle() resolves once everything due is done; new work is picked up by polling", async () => {
    const { queue, clock } = await fakeTimeQueue({
      notifier: { notify() {}, listen: () => () => {} },
    });
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    const done: string[] = [];
    const worker = new Worker(queue, {
      pollIntervalMs: 50,
      handlers: { t: (_payload, ctx) => void done.push(ctx.task.name) },
    });
    worker.start();
    await worker.onIdle();
    assert.deepEqual(done, ["a", "b"]);
    await queue.enqueue({ name: "c", taskType: "t" }); // a notifier that never wakes it
    await clock.tick(49);
    assert.deepEqual(done, ["a", "b"], "not before the next poll");
    await clock.tick(1);
    assert.deepEqual(done, ["a", "b", "c"]);
    await worker.stop();
    await queue.close();
  });

  test("several workers on one queue run each task exactly once", async () => {
    const { queue } = await fakeTimeQueue();
    await queue.enqueueMany(
      Array.from({ length: 300 }, (_, i) => ({ name: `${i}`, taskType: "t", payload: i })),
    );
    const runs = new Map<number, number>();
    const handlers = {
      t: async (n: number) => {
        runs.set(n, (runs.get(n) ?? 0) + 1);
        await Promise.resolve();
      },
    };
    const workers = [1, 2, 3].map((n) =>
      new Worker(queue, { handlers, concurrency: 4, pollIntervalMs: 5, workerId: `w${n}` })
    );
    for (const worker of workers) worker.start();
    await Promise.all(workers.map((worker) => worker.onIdle()));
    await Promise.all(workers.map((worker) => worker.stop()));
    assert.equal(runs.size, 300);
    assert.ok([...runs.values()].every((count) => count === 1));
    const byWorker = new Set(
      (await queue.getTasksByStatus(TaskStatus.COMPLETED, 300)).map((t) => t.workerId),
    );
    assert.deepEqual([...byWorker].sort(), ["w1", "w2", "w3"]);
    await queue.close();
  });

  test("ctx.heartbeat() extends the lease; a lost lease reaches onError, not the task", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "long", taskType: "long" });
    const errors: unknown[] = [];
    let lease = 0;
    const worker = new Worker(queue, {
      leaseMs: 100,
      onError: (error) => errors.push(error),
      handlers: {
        long: async (_payload, ctx) => {
          clock.advance(90);
          await ctx.heartbeat();
          lease = (await queue.getTask(ctx.task.id))!.leaseExpiresAt!;
          clock.advance(200); // the worker stalls; another takes the task over
          await queue.dequeue();
          return "too late";
        },
      },
    });
    await worker.tick();
    assert.equal(lease, clock.now - 200 + 100);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof LeaseLostError);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.RUNNING);
    assert.equal(task.attempts, 2);
    await queue.close();
  });

  test("bad options are refused", async () => {
    const { queue } = await memoryQueue();
    assert.throws(
      () => new Worker(queue, { handlers: { t: "no" as never } }),
      /handlers\.t must be a function/,
    );
    assert.throws(
      () => new Worker(queue, { handlers: { t: () => 1 }, concurrency: 0 }),
      /concurrency/,
    );
    assert.throws(
      () => new Worker(queue, { handlers: { t: () => 1 }, prefetch: -1 }),
      RangeError,
    );
    assert.throws(() => new Worker(queue, { handlers: {} }), /no handlers/);
    assert.throws(() => new Worker(queue, null as never), TypeError);
    assert.throws(
      () => new Worker(queue, { handlers: { t: () => 1 }, clock: {} as never }),
      /clock must be a Clock/,
    );
    const worker = new Worker(queue, { handlers: { t: () => 1 }, pollIntervalMs: 5 });
    worker.start();
    await assert.rejects(worker.tick(), /Cannot tick the worker: it is started/);
    await worker.stop();
    await queue.close();
  });
});
