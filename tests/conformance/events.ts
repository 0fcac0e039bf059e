/**
 * Conformance: in-process events. Every transition emits its typed event with the task as stored
 * after it; duplicates of a live unique key emit nothing; listeners cannot break the queue.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Logger, QUEUE_EVENTS, type QueueEvents, TaskStatus } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Registers the event cases. */
export function events(suite: Suite): void {
  suite.test("every transition emits its typed event", async (h) => {
    const queue = await h.open();
    const log: string[] = [];
    for (const name of QUEUE_EVENTS) {
      queue.on(name, (event) => {
        const id = "task" in event ? event.task.id : "taskId" in event ? event.taskId : event.kind;
        log.push(`${name} #${id}`);
      });
    }
    const [ok, flaky, doomed, dropped] = await queue.enqueueMany([
      { name: "ok", taskType: "t", priority: 4 },
      { name: "flaky", taskType: "t", priority: 3 },
      { name: "doomed", taskType: "t", priority: 2, maxRetries: 0 },
      { name: "dropped", taskType: "t", priority: 1 },
    ]);
    const a = (await queue.dequeue())!;
    await queue.progress(a, 50);
    await queue.completeTask(a, "ok");
    await queue.failTask((await queue.dequeue())!, "again later");
    await queue.failTask((await queue.dequeue())!, "fatal");
    await queue.cancelTask(dropped!);
    await queue.retryTask(doomed!);
    h.clock.advance(60_000);
    assert.deepEqual(log, [
      `enqueued #${ok}`,
      `enqueued #${flaky}`,
      `enqueued #${doomed}`,
      `enqueued #${dropped}`,
      `started #${ok}`,
      `progress #${ok}`,
      `completed #${ok}`,
      `started #${flaky}`,
      `failed #${flaky}`,
      `started #${doomed}`,
      `dead #${doomed}`,
      `cancelled #${dropped}`,
      `retried #${doomed}`,
    ]);
  });

  suite.test("event payloads carry the task as stored after the transition", async (h) => {
    const queue = await h.open();
    const seen: { name: string; event: unknown }[] = [];
    for (
      const name of ["enqueued", "started", "completed", "failed", "dead", "progress"] as const
    ) {
      queue.on(name, (event) => void seen.push({ name, event }));
    }
    const id = await queue.enqueue({
      name: "job",
      taskType: "t",
      priority: 3,
      maxRetries: 1,
      scheduledAt: h.clock.now,
    });
    const first = (await queue.dequeue({ workerId: "w" }))!;
    const progressed = await queue.progress(first, { done: 1 });
    const failed = await queue.failTask(first, new Error("flaky"));
    h.clock.advance(1000);
    const second = (await queue.dequeue())!;
    const dead = await queue.failTask(second, "fatal");
    const third = await queue.enqueue({ name: "ok", taskType: "t" });
    const claimed = (await queue.dequeue())!;
    const done = await queue.completeTask(claimed, { sent: true });
    assert.deepEqual(seen, [
      {
        name: "enqueued",
        event: {
          taskId: id,
          name: "job",
          taskType: "t",
          priority: 3,
          scheduledAt: first.createdAt,
        },
      },
      { name: "started", event: { task: first } },
      { name: "progress", event: { task: progressed, progress: { done: 1 } } },
      { name: "failed", event: { task: failed, error: "flaky" } },
      { name: "started", event: { task: second } },
      { name: "dead", event: { task: dead, error: "fatal" } },
      {
        name: "enqueued",
        event: { taskId: third, name: "ok", taskType: "t", priority: 2, scheduledAt: h.clock.now },
      },
      { name: "started", event: { task: claimed } },
      { name: "completed", event: { task: done } },
    ]);
    assert.equal(failed.status, TaskStatus.PENDING);
    assert.equal(dead.status, TaskStatus.FAILED);
    assert.deepEqual(await queue.getTask(third), done, "the event's task is the stored one");
  });

  suite.test("cancel, redrive and cancel-wins events carry the task", async (h) => {
    const queue = await h.open();
    const cancelled: number[] = [];
    const retried: string[] = [];
    const failed: number[] = [];
    queue.on("cancelled", ({ task }) => void cancelled.push(task.id));
    queue.on("retried", ({ task }) => void retried.push(`${task.id} ${task.status}`));
    queue.on("failed", ({ task }) => void failed.push(task.id));
    queue.on("dead", ({ task }) => void failed.push(task.id));
    const [pending, running] = await queue.enqueueMany([
      { name: "p", taskType: "t", priority: 1 },
      { name: "r", taskType: "t", priority: 4 },
    ]);
    const task = (await queue.dequeue())!;
    assert.equal(task.id, running);
    await queue.cancelTask(running!);
    assert.deepEqual(cancelled, [], "a running task is only marked");
    await queue.failTask(task, "aborted");
    await queue.cancelTask(pending!);
    assert.deepEqual(cancelled, [running, pending]);
    assert.deepEqual(failed, [], "cancel wins: no failed or dead event");
    await queue.retryTask(running!);
    assert.deepEqual(retried, [`${running} pending`]);
  });

  suite.test("a lease that expires in another worker's claim emits failed or dead", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "n", taskType: "t", maxRetries: 0 });
    const dead: string[] = [];
    queue.on("dead", ({ error }) => dead.push(error));
    await queue.dequeue({ leaseMs: 10 });
    h.clock.advance(10);
    await queue.dequeue();
    assert.equal(dead.length, 1);
    assert.match(dead[0]!, /Lease expired after 10 ms/);
  });

  suite.test("a lease recovered with retries left emits failed with the pending task", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 2 });
    const events: QueueEvents["failed"][] = [];
    queue.on("failed", (event) => void events.push(event));
    await queue.dequeue({ leaseMs: 10 });
    h.clock.advance(10);
    assert.equal(await queue.recover(), 1);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.task.id, id);
    assert.equal(events[0]!.task.status, TaskStatus.PENDING);
    assert.match(events[0]!.error, /Lease expired after 10 ms/);
  });

  suite.test("unsubscribe works; a throwing listener is logged, not fatal", async (h) => {
    const errors: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message, fields) => errors.push(`${message} ${fields?.error}`),
    };
    const queue = await h.open({ logger });
    let calls = 0;
    const off = queue.on("enqueued", () => void calls++);
    queue.on("enqueued", () => {
      throw new Error("listener bug");
    });
    await queue.enqueue({ name: "a", taskType: "t" });
    off();
    await queue.enqueue({ name: "b", taskType: "t" });
    assert.equal(calls, 1);
    assert.deepEqual(errors, [
      'A "enqueued" listener threw Error: listener bug',
      'A "enqueued" listener threw Error: listener bug',
    ]);
    queue.on("enqueued", async () => {
      await Promise.resolve();
      throw new Error("async listener bug");
    });
    await queue.enqueue({ name: "c", taskType: "t" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(errors.includes('A "enqueued" listener threw Error: async listener bug'));
    assert.throws(() => queue.on("finished" as never, () => {}), /Invalid event name/);
    assert.equal((await queue.getQueueStats()).pending, 3);
  });

  suite.test("enqueueing a live uniqueKey again emits no enqueued event", async (h) => {
    const queue = await h.open();
    const seen: string[] = [];
    queue.on("enqueued", (event) => void seen.push(event.name));
    await queue.enqueue({ name: "original", taskType: "t", uniqueKey: "k" });
    await queue.enqueue({ name: "duplicate", taskType: "t", uniqueKey: "k" });
    await queue.enqueueMany([{ name: "dup2", taskType: "t", uniqueKey: "k" }, {
      name: "new",
      taskType: "t",
    }]);
    assert.deepEqual(seen, ["original", "new"]);
  });
}
