/**
 * Conformance: bad input. Every call refuses it with a `TypeError` that names the input and the
 * rule, before anything is written: the storage is exactly as it was.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type TaskQueue, ValidationError } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Everything a reader can see of a queue, to compare before and after a refused call. */
async function snapshot(queue: TaskQueue): Promise<unknown> {
  const statuses = ["pending", "running", "completed", "failed", "cancelled"] as const;
  return {
    stats: await queue.getQueueStats(),
    tasks: await Promise.all(statuses.map((s) => queue.getTasksByStatus(s, 1000))),
    controls: await queue.getControls(),
    schedules: await queue.getSchedules(),
  };
}

/** Asserts that `call` rejects with a ValidationError (a TypeError) explained by `message`. */
async function refuses(call: () => Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(call(), (error: unknown) => {
    assert.ok(error instanceof ValidationError, `${error} is a ValidationError`);
    assert.ok(error instanceof TypeError);
    assert.match(error.message, message);
    return true;
  });
}

/** Registers the bad-input cases. */
export function validation(suite: Suite): void {
  suite.test("bad enqueue options are refused, naming the field, and nothing is stored", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "existing", taskType: "t", uniqueKey: "k" });
    const before = await snapshot(queue);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ taskType: "t" }, /name is required/],
      [{ name: "  ", taskType: "t" }, /name must not be empty/],
      [{ name: "n", taskType: "" }, /taskType must not be empty/],
      [{ name: "n", taskType: "t", priority: 7 }, /priority must be a TaskPriority/],
      [{ name: "n", taskType: "t", maxRetries: -1 }, /maxRetries must be >= 0/],
      [{ name: "n", taskType: "t", maxRetries: 1.5 }, /maxRetries must be an integer/],
      [{ name: "n", taskType: "t", scheduledAt: "tomorrow" }, /scheduledAt must be a Date/],
      [{ name: "n", taskType: "t", scheduledAt: new Date(NaN) }, /scheduledAt must be a Date/],
      [{ name: "n", taskType: "t", timeoutMs: 0 }, /timeoutMs must be >= 1/],
      [{ name: "n", taskType: "t", payload: { n: 10n } }, /payload must be JSON data/],
      [{ name: "n", taskType: "t", payload: new Map() }, /payload must be JSON data/],
      [{ name: "n", taskType: "t", payload: { x: NaN } }, /payload must be JSON data/],
      [{ name: "n", taskType: "t", uniqueKey: "" }, /uniqueKey must not be empty/],
      [{ name: "n", taskType: "t", colour: "red" }, /colour is not a known option/],
    ];
    for (const [options, message] of bad) {
      await refuses(() => queue.enqueue(options as never), message);
      await refuses(
        () => queue.enqueueMany([{ name: "fine", taskType: "t" }, options as never]),
        message,
      );
    }
    await refuses(() => queue.enqueue(null as never), /Invalid enqueue options/);
    await refuses(() => queue.enqueueMany({} as never), /Invalid enqueue options/);
    assert.deepEqual(await snapshot(queue), before);
  });

  suite.test("bad claims are refused and claim nothing", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const before = await snapshot(queue);
    for (const limit of [0, -1, 1.5, NaN, 10_001, "3"]) {
      await refuses(() => queue.dequeueMany(limit as never), /Invalid dequeue limit/);
    }
    await refuses(() => queue.dequeue({ leaseMs: 0 }), /leaseMs must be >= 1/);
    await refuses(() => queue.dequeue({ taskTypes: [] }), /taskTypes must not be empty/);
    await refuses(() => queue.dequeue({ taskTypes: "t" as never }), /taskTypes must be an array/);
    await refuses(() => queue.dequeue({ workerId: "" }), /workerId must not be empty/);
    await refuses(() => queue.dequeue({ lease: 5 } as never), /lease is not a known option/);
    assert.deepEqual(await snapshot(queue), before);
  });

  suite.test("bad transitions are refused and leave the task as it was", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    const before = await snapshot(queue);
    await refuses(() => queue.completeTask(task, { n: 1n }), /Invalid task result/);
    await refuses(() => queue.failTask(task, ""), /Invalid task error/);
    await refuses(() => queue.failTask(task, 42 as never), /Invalid task error/);
    await refuses(() => queue.failTask(task, "x", { retryDelayMs: -5 }), /retryDelayMs/);
    await refuses(() => queue.failTask(task, "x", { retry: "no" as never }), /retry must be/);
    await refuses(() => queue.progress(task, undefined), /Invalid progress/);
    await refuses(() => queue.progress(task, { big: 1n }), /Invalid progress/);
    await refuses(() => queue.heartbeat({ id: task.id } as never), /Invalid task/);
    await refuses(() => queue.completeTask(0), /Invalid task/);
    await refuses(() => queue.release("1" as never), /Invalid task/);
    await refuses(() => queue.cancelTask(-1), /Invalid task id/);
    await refuses(() => queue.retryTask(1.5), /Invalid task id/);
    await refuses(() => queue.cancelRequested([task.id, 0]), /Invalid task id/);
    assert.deepEqual(await snapshot(queue), before);
    assert.equal((await queue.completeTask(task, "fine")).status, "completed", "still claimable");
  });

  suite.test("bad reads, controls, schedules and prunes are refused and change nothing", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    await queue.setLimits("t", { concurrency: 2 });
    await queue.schedule("s", "0 * * * *", { taskType: "t" });
    const before = await snapshot(queue);
    await refuses(() => queue.getTasksByStatus("done" as never), /Invalid task status/);
    await refuses(() => queue.getTasksByStatus("pending", 0), /Invalid list limit/);
    await refuses(() => queue.getTasksByStatus("pending", 10, -1), /Invalid list offset/);
    await refuses(() => queue.getTask("1" as never), /Invalid task id/);
    await refuses(() => queue.pause(""), /Invalid task type/);
    await refuses(() => queue.resume(5 as never), /Invalid task type/);
    await refuses(() => queue.setLimits("t", { concurrency: 0 }), /concurrency must be >= 1/);
    await refuses(() => queue.setLimits("t", { rate: { max: 0, intervalMs: 10 } }), /rate\.max/);
    await refuses(() => queue.setLimits("t", { parallel: 1 } as never), /not a known option/);
    await refuses(() => queue.schedule("s", "0 * * * *", { taskType: "" }), /taskType/);
    await refuses(() => queue.schedule("s", "* *", { taskType: "t" }), /Invalid cron pattern/);
    await refuses(
      () => queue.schedule("s", "0 * * * *", { taskType: "t", priority: 0 as never }),
      /priority must be a TaskPriority/,
    );
    await refuses(() => queue.unschedule(""), /Invalid schedule name/);
    await refuses(() => queue.prune({} as never), /olderThanMs is required/);
    await refuses(() => queue.prune({ olderThanMs: 0, limit: 0 }), /limit must be >= 1/);
    await refuses(() => queue.retryFailed({ limit: 0 }), /limit must be >= 1/);
    assert.deepEqual(await snapshot(queue), before);
  });
}
