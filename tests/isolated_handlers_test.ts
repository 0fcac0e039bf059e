/**
 * Isolated handlers (issue 9, bug 11): a handler module run in a worker thread by `isolated()`.
 * A synchronously busy one neither blocks the worker's process nor outlives its time limit (its
 * thread is terminated); values, throws (their class included), a thread that exits, and stop()
 * after its grace.
 */

import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { describe, test } from "node:test";
import { isolated, type Task, type TaskQueue, TaskStatus, Worker } from "../mod.ts";
import { fakeTimeQueue, memoryQueue } from "./_helpers.ts";

const HANDLERS = new URL("./fixtures/isolated_handlers.ts", import.meta.url);
const PERMANENT = new URL("./fixtures/isolated_permanent.ts", import.meta.url);

/** Waits (real time, polling) until `check` gives a value; fails after 30 s. */
async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await delay(5);
  }
}

/** The task once its status is `status`. */
function statusOf(queue: TaskQueue, id: number, status: string): Promise<Task> {
  return waitFor(`task ${id} to be ${status}`, async () => {
    const task = await queue.getTask(id);
    return task?.status === status ? task : undefined;
  });
}

describe("Isolated handlers", () => {
  test("a sync infinite loop fails at its time limit while the worker's thread keeps running", async () => {
    const { queue, clock } = await fakeTimeQueue({ leaseMs: 100 });
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const worker = new Worker(queue, {
      handlers: {
        spin: { handler: isolated(HANDLERS, { export: "spin" }), timeoutMs: 300 },
        plain: (payload: { n: number }) => payload.n + 1,
      },
      concurrency: 2,
    });
    try {
      const spin = await queue.enqueue({ name: "spin", taskType: "spin", maxRetries: 0 });
      const plain: number[] = [];
      for (let n = 0; n < 5; n++) {
        plain.push(await queue.enqueue({ name: `plain ${n}`, taskType: "plain", payload: { n } }));
      }
      worker.start();
      await waitFor(
        "the thread to spin",
        async () => (await queue.getTask(spin))?.progress === "spinning" ? true : undefined,
      );
      // The loop runs in its thread: this thread's timers tick and the other tasks complete.
      const before = ticks;
      await waitFor("20 interval ticks", () => ticks >= before + 20 ? true : undefined);
      for (const [n, task] of plain.entries()) {
        const done = await statusOf(queue, task, TaskStatus.COMPLETED);
        assert.equal(done.result, n + 1);
      }
      assert.equal((await queue.getTask(spin))?.status, TaskStatus.RUNNING);
      assert.equal(worker.running, 1);

      // The worker's thread heartbeats the lease while the handler's thread spins.
      await clock.tick(250);
      const held = await queue.getTask(spin);
      assert.equal(held?.status, TaskStatus.RUNNING);
      assert.ok(held!.leaseExpiresAt! > clock.now, "the lease was extended");
      await clock.tick(50);
      const failed = await statusOf(queue, spin, TaskStatus.FAILED);
      assert.equal(
        failed.error,
        `Task ${spin} timed out after 300 ms (isolated handler terminated)`,
      );
      // Its slot frees once the thread is gone (a thread left spinning would keep it).
      await waitFor("the thread to be terminated", () => worker.running === 0 ? true : undefined);
    } finally {
      clearInterval(interval);
      await worker.stop({ timeoutMs: 0 });
      await queue.close();
    }
  });

  test("a returned value completes the task; the thread gets the payload and a context", async () => {
    const { queue } = await memoryQueue();
    try {
      const worker = new Worker(queue, {
        handlers: { double: isolated(HANDLERS) },
        workerId: "iso-1",
      });
      const task = await queue.enqueue({ name: "d", taskType: "double", payload: { n: 21 } });
      assert.equal(await worker.tick(), 1);
      const done = await queue.getTask(task);
      assert.equal(done?.status, TaskStatus.COMPLETED);
      assert.deepEqual(done?.result, { doubled: 42, taskId: task, workerId: "iso-1" });
    } finally {
      await queue.close();
    }
  });

  test("a throw fails the attempt with its message and is retried; PermanentError keeps its class", async () => {
    const { queue, clock } = await memoryQueue();
    try {
      const worker = new Worker(queue, {
        handlers: {
          fail: isolated(HANDLERS, { export: "fail" }),
          permanent: isolated(PERMANENT),
        },
      });
      const task = await queue.enqueue({ name: "f", taskType: "fail", maxRetries: 1 });
      const permanent = await queue.enqueue({ name: "p", taskType: "permanent", maxRetries: 3 });
      assert.equal(await worker.tick(), 2);
      const first = await queue.getTask(task);
      assert.equal(first?.status, TaskStatus.PENDING);
      assert.equal(first?.error, "boom on attempt 1");
      const gone = await queue.getTask(permanent);
      assert.equal(gone?.status, TaskStatus.FAILED);
      assert.equal(gone?.error, "bad input, do not retry");
      assert.equal(gone?.attempts, 1);

      clock.now += 60_000; // past the backoff
      assert.equal(await worker.tick(), 1);
      const last = await queue.getTask(task);
      assert.equal(last?.status, TaskStatus.FAILED);
      assert.deepEqual(last?.errors.map((e) => e.error), [
        "boom on attempt 1",
        "boom on attempt 2",
      ]);
    } finally {
      await queue.close();
    }
  });

  test("a thread that calls process.exit fails the attempt and the worker goes on", async () => {
    const { queue } = await memoryQueue();
    try {
      const worker = new Worker(queue, {
        handlers: { exit: isolated(HANDLERS, { export: "exit" }), plain: () => "still here" },
      });
      const exit = await queue.enqueue({ name: "e", taskType: "exit", maxRetries: 0 });
      assert.equal(await worker.tick(), 1);
      const failed = await queue.getTask(exit);
      assert.equal(failed?.status, TaskStatus.FAILED);
      assert.equal(failed?.error, "Isolated handler exited with code 7 before it returned");

      const plain = await queue.enqueue({ name: "p", taskType: "plain" });
      assert.equal(await worker.tick(), 1);
      assert.equal((await queue.getTask(plain))?.result, "still here");
    } finally {
      await queue.close();
    }
  });

  test("stop() terminates a running isolated handler after its grace and gives the task back", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const warnings: string[] = [];
    const logger = queue.logger;
    const worker = new Worker(
      {
        ...queueFacade(queue),
        logger: { ...logger, warn: (message) => void warnings.push(message) },
      },
      { handlers: { spin: isolated(HANDLERS, { export: "spin" }) } },
    );
    try {
      const spin = await queue.enqueue({ name: "spin", taskType: "spin" });
      worker.start();
      await waitFor(
        "the thread to spin",
        async () => (await queue.getTask(spin))?.progress === "spinning" ? true : undefined,
      );
      const stopped = worker.stop({ timeoutMs: 1000 });
      await clock.tick(1000);
      await stopped;
      assert.equal(worker.running, 0);
      const back = await queue.getTask(spin);
      assert.equal(back?.status, TaskStatus.PENDING);
      assert.equal(back?.leaseExpiresAt, null);
      // Its thread was terminated, not left running in the background.
      assert.ok(
        !warnings.some((message) => message.includes("ignored their abort")),
        String(warnings),
      );
    } finally {
      await worker.stop({ timeoutMs: 0 });
      await queue.close();
    }
  });

  test("a cancel terminates a running isolated handler and the task ends cancelled", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const worker = new Worker(queue, {
      handlers: { spin: isolated(HANDLERS, { export: "spin" }) },
      pollIntervalMs: 100,
    });
    try {
      const spin = await queue.enqueue({ name: "spin", taskType: "spin" });
      worker.start();
      await waitFor(
        "the thread to spin",
        async () => (await queue.getTask(spin))?.progress === "spinning" ? true : undefined,
      );
      await queue.cancelTask(spin);
      await clock.tick(100); // the next poll sees the cancel mark
      await statusOf(queue, spin, TaskStatus.CANCELLED);
      await waitFor("the thread to be terminated", () => worker.running === 0 ? true : undefined);
    } finally {
      await worker.stop({ timeoutMs: 0 });
      await queue.close();
    }
  });

  test("bad arguments are refused at once; a missing export or an unclonable result fails the attempt", async () => {
    assert.throws(() => isolated("./fixtures/isolated_handlers.ts"), TypeError);
    assert.throws(() => isolated(HANDLERS, { export: "" }), TypeError);
    assert.throws(() => isolated(HANDLERS, { export: 3 as unknown as string }), TypeError);
    const { queue } = await memoryQueue();
    try {
      const worker = new Worker(queue, {
        handlers: {
          missing: isolated(HANDLERS, { export: "nope" }),
          unclonable: isolated(HANDLERS, { export: "unclonable" }),
        },
      });
      const missing = await queue.enqueue({ name: "m", taskType: "missing", maxRetries: 0 });
      const unclonable = await queue.enqueue({ name: "u", taskType: "unclonable", maxRetries: 0 });
      assert.equal(await worker.tick(), 2);
      const m = await queue.getTask(missing);
      assert.equal(m?.status, TaskStatus.FAILED);
      assert.equal(
        m?.error,
        `Isolated handler module ${HANDLERS.href} has no function export "nope"`,
      );
      const u = await queue.getTask(unclonable);
      assert.equal(u?.status, TaskStatus.FAILED);
      assert.match(u?.error ?? "", /^Isolated handler returned a value that cannot be copied: /);
    } finally {
      await queue.close();
    }
  });
});

/** The queue as a plain WorkerQueue (so that its logger can be replaced). */
function queueFacade(queue: TaskQueue) {
  return {
    logger: queue.logger,
    clock: queue.clock,
    notifier: queue.notifier,
    dequeueMany: queue.dequeueMany.bind(queue),
    heartbeat: queue.heartbeat.bind(queue),
    progress: queue.progress.bind(queue),
    completeTask: queue.completeTask.bind(queue),
    failTask: queue.failTask.bind(queue),
    release: queue.release.bind(queue),
    cancelRequested: queue.cancelRequested.bind(queue),
    maintain: queue.maintain.bind(queue),
  };
}
