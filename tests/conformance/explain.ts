/**
 * Conformance: `explain(id)`: every reason a task is not running, from the conditions the claim
 * checks (due time, backoff, pauses, concurrency and rate limits) and the worker registry; who
 * holds a running task; a finished task's status. Bad input changes nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExplainCode, TaskNotFoundError, ValidationError, WORKER_DEAD_MIN_MS } from "../../mod.ts";
import type { TaskQueue } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

const codes = async (queue: TaskQueue, id: number) =>
  (await queue.explain(id)).reasons.map((reason) => reason.code);

/** A live worker for `types` (`null`: every type), beating on the queue's clock. */
const register = (queue: TaskQueue, id: string, taskTypes: string[] | null) =>
  queue.registerWorker({
    id,
    taskTypes,
    concurrency: 1,
    startedAt: queue.now(),
    beatIntervalMs: 1000,
  });

/** Registers the explain cases. */
export function explain(suite: Suite): void {
  suite.test("a due task with a live worker for its type has no reason; without one, no_worker", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "email" });
    const lonely = await queue.explain(id);
    assert.equal(lonely.runnable, true, "a claim may take it");
    assert.equal(lonely.task.id, id);
    assert.deepEqual(lonely.reasons, [{
      code: ExplainCode.NO_WORKER,
      message: 'No live worker is registered for task type "email"',
      taskType: "email",
    }]);
    await register(queue, "sms-worker", ["sms"]);
    assert.deepEqual(await codes(queue, id), ["no_worker"], "a worker of other types");
    await register(queue, "all-worker", null);
    assert.deepEqual(await queue.explain(id), { task: lonely.task, runnable: true, reasons: [] });
    h.clock.advance(WORKER_DEAD_MIN_MS + 1); // silent for longer than a worker may be: dead
    assert.deepEqual(await codes(queue, id), ["no_worker"]);
  });

  suite.test("a task not due yet, and one in backoff after a failed attempt", async (h) => {
    const queue = await h.open();
    await register(queue, "w", null);
    const later = await queue.enqueue({
      name: "later",
      taskType: "t",
      scheduledAt: h.clock.now + 60_000,
    });
    const { runnable, reasons: [reason] } = await queue.explain(later);
    assert.equal(runnable, false);
    assert.equal(reason?.code, "not_due");
    assert.deepEqual(reason, {
      code: "not_due",
      message: `Task ${later} is not due until ${new Date(h.clock.now + 60_000).toISOString()}`,
      dueAt: h.clock.now + 60_000,
    });
    const retried = await queue.enqueue({ name: "flaky", taskType: "t", maxRetries: 2 });
    const task = (await queue.dequeue({ taskTypes: ["t"] }))!;
    assert.equal(task.id, retried);
    await queue.failTask(task, "boom");
    const failed = await queue.explain(retried);
    assert.equal(failed.runnable, false);
    assert.deepEqual(failed.reasons.map(({ code }) => code), ["backoff"]);
    const backoff = failed.reasons[0] as { attempt: number; dueAt: number };
    assert.equal(backoff.attempt, 1);
    assert.equal(backoff.dueAt, h.clock.now + 1000, "the queue's backoff: 1 s");
    h.clock.advance(1000);
    assert.deepEqual(await queue.explain(retried).then((e) => [e.runnable, e.reasons]), [true, []]);
  });

  suite.test("a paused type and a paused queue are each a reason", async (h) => {
    const queue = await h.open();
    await register(queue, "w", null);
    const id = await queue.enqueue({ name: "r", taskType: "report" });
    await queue.pause("report");
    const pausedAt = h.clock.now;
    h.clock.advance(10);
    await queue.pause();
    const { runnable, reasons } = await queue.explain(id);
    assert.equal(runnable, false);
    assert.deepEqual(reasons.map(({ code }) => code), ["queue_paused", "type_paused"]);
    assert.deepEqual(reasons[1], {
      code: "type_paused",
      message: `Task type "report" is paused (since ${new Date(pausedAt).toISOString()})`,
      taskType: "report",
      pausedAt,
    });
    await queue.resume();
    await queue.resume("report");
    assert.deepEqual(await codes(queue, id), []);
  });

  suite.test("a concurrency limit names its holders; a full rate window says until when", async (h) => {
    const queue = await h.open();
    await register(queue, "w", null);
    await queue.setLimits("encode", { concurrency: 2 });
    const [a, b, c] = await queue.enqueueMany([
      { name: "a", taskType: "encode" },
      { name: "b", taskType: "encode" },
      { name: "c", taskType: "encode" },
    ]);
    assert.deepEqual(await codes(queue, c!), [], "room for it");
    await queue.dequeue();
    h.clock.advance(1);
    await queue.dequeue();
    const limited = await queue.explain(c!);
    assert.equal(limited.runnable, false);
    assert.deepEqual(limited.reasons, [{
      code: "concurrency_limit",
      message: `Task type "encode" is at its concurrency limit 2/2, held by tasks ${b}, ${a}`,
      taskType: "encode",
      limit: 2,
      running: 2,
      heldBy: [b, a],
    }]);
    assert.equal(await queue.dequeue(), null, "the claim agrees");

    const start = h.clock.now;
    await queue.setLimits("api", { rate: { max: 2, intervalMs: 1000 } });
    const [x, y, z] = await queue.enqueueMany([
      { name: "x", taskType: "api" },
      { name: "y", taskType: "api" },
      { name: "z", taskType: "api" },
    ]);
    assert.equal((await queue.dequeue({ taskTypes: ["api"] }))?.id, x);
    h.clock.advance(100);
    assert.equal((await queue.dequeue({ taskTypes: ["api"] }))?.id, y);
    const [rate] = (await queue.explain(z!)).reasons;
    assert.deepEqual(rate, {
      code: "rate_limit",
      message: `Task type "api" has used its rate limit 2/2 per 1000 ms until ${
        new Date(start + 1000).toISOString()
      }`,
      taskType: "api",
      max: 2,
      intervalMs: 1000,
      used: 2,
      until: start + 1000,
    });
    assert.equal(await queue.dequeue({ taskTypes: ["api"] }), null, "the claim agrees");
    h.clock.now = start + 1000;
    assert.deepEqual(await codes(queue, z!), []);
    assert.equal((await queue.dequeue({ taskTypes: ["api"] }))?.id, z, "and so does the claim");
  });

  suite.test("a concurrency key at its limit, or past its rate, is a key_limit reason", async (h) => {
    const queue = await h.open();
    await register(queue, "w", null);
    await queue.setLimits("sync", { concurrencyPerKey: 1 });
    const [a, b, other] = await queue.enqueueMany([
      { name: "a", taskType: "sync", concurrencyKey: "tenant-a" },
      { name: "b", taskType: "sync", concurrencyKey: "tenant-a" },
      { name: "other", taskType: "sync", concurrencyKey: "tenant-b" },
    ]);
    assert.deepEqual(await codes(queue, b!), [], "room for its key");
    assert.equal((await queue.dequeue({ taskTypes: ["sync"] }))?.id, a);
    const held = await queue.explain(b!);
    assert.equal(held.runnable, false);
    assert.deepEqual(held.reasons, [{
      code: "key_limit",
      message: `Concurrency key "tenant-a" is at its limit 1/1, held by task ${a}`,
      key: "tenant-a",
      limit: 1,
      running: 1,
      heldBy: [a],
    }]);
    assert.deepEqual(await codes(queue, other!), [], "another key has room");
    assert.equal((await queue.dequeue({ taskTypes: ["sync"] }))?.id, other, "the claim agrees");

    const start = h.clock.now;
    await queue.setLimits("mail", { ratePerKey: { max: 1, intervalMs: 1000 } });
    const [m1, m2] = await queue.enqueueMany([
      { name: "m1", taskType: "mail", concurrencyKey: "acct" },
      { name: "m2", taskType: "mail", concurrencyKey: "acct" },
    ]);
    assert.equal((await queue.dequeue({ taskTypes: ["mail"] }))?.id, m1);
    const [rated] = (await queue.explain(m2!)).reasons;
    assert.equal(rated?.code, "key_limit");
    assert.equal(
      rated?.message,
      `Concurrency key "acct" used its rate window: 1/1 claims per 1000 ms, until ${
        new Date(start + 1000).toISOString()
      }`,
    );
    assert.equal(await queue.dequeue({ taskTypes: ["mail"] }), null, "the claim agrees");
    h.clock.now = start + 1000;
    assert.deepEqual(await codes(queue, m2!), []);
  });

  suite.test("a running task names its worker and lease; a cancel asked is a reason too", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue({ workerId: "w-7", leaseMs: 30_000 }))!;
    const until = new Date(h.clock.now + 30_000).toISOString();
    assert.deepEqual(await queue.explain(id).then((e) => [e.runnable, e.reasons]), [false, [{
      code: "leased",
      message: `Task ${id} is running: leased by worker w-7 until ${until}`,
      workerId: "w-7",
      leaseExpiresAt: h.clock.now + 30_000,
    }]]);
    await queue.cancelTask(id);
    assert.deepEqual(await codes(queue, id), ["leased", "cancel_requested"]);
    await queue.failTask(task, "aborted");
    const done = await queue.explain(id);
    assert.equal(done.task.status, "cancelled");
    assert.deepEqual(done.reasons.map((r) => [r.code, "status" in r ? r.status : null]), [
      ["finished", "cancelled"],
    ]);
  });

  suite.test("explain of a missing task or a bad id throws and changes nothing", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.explain(404), TaskNotFoundError);
    for (const bad of [0, -1, 1.5, "1", null]) {
      await assert.rejects(queue.explain(bad as number), ValidationError);
    }
    assert.equal((await queue.getQueueStats()).pending, 1);
    assert.deepEqual(await queue.workers(), []);
  });
}
