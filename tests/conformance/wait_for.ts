/**
 * Conformance: `waitFor(id)` resolves with the finished task: at once when it already is, as soon
 * as this process finishes it, after a poll for another connection's finish; a timeout rejects
 * with `WaitTimeoutError` on the queue's clock, an abort with the signal's reason.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskNotFoundError, TaskStatus, ValidationError, WaitTimeoutError } from "../../mod.ts";
import { settle } from "../_helpers.ts";

/** Waits (in real time, 10 s at most: a networked engine is slower) until `check` holds. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
import type { Suite } from "./_harness.ts";

/** Registers the waitFor cases. */
export function waitFor(suite: Suite): void {
  suite.test("waitFor resolves when this process completes, fails for good or cancels the task", async (h) => {
    const queue = await h.open();
    const [a, b, c] = await queue.enqueueMany([
      { name: "a", taskType: "t" },
      { name: "b", taskType: "t", maxRetries: 0 },
      { name: "c", taskType: "t" },
    ]);
    const waits = [a!, b!, c!].map((id) => queue.waitFor(id));
    let settled = 0;
    for (const wait of waits) void wait.then(() => settled++);
    await settle();
    assert.equal(settled, 0, "none is finished");
    const [ta, tb] = await queue.dequeueMany(2);
    await queue.completeTask(ta!, { ok: 1 });
    await queue.failTask(tb!, "boom");
    await queue.cancelTask(c!);
    const [da, db, dc] = await Promise.all(waits);
    assert.deepEqual(da?.result, { ok: 1 });
    assert.equal(db?.status, TaskStatus.FAILED);
    assert.equal(dc?.status, TaskStatus.CANCELLED);
    assert.equal((await queue.waitFor(a!)).status, TaskStatus.COMPLETED, "finished: at once");
  });

  suite.test("a retried attempt does not end the wait; the next completion does", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "flaky", taskType: "t", maxRetries: 1 });
    let done = false;
    const wait = queue.waitFor(id).finally(() => (done = true));
    await queue.failTask((await queue.dequeue())!, "once");
    await settle();
    assert.equal(done, false, "pending again, in backoff");
    h.clock.advance(1000);
    await queue.completeTask((await queue.dequeue())!, "second time");
    assert.equal((await wait).result, "second time");
  });

  suite.test("waitFor sees another connection's completion at its next poll", async (h) => {
    // This queue sleeps on the test's clock: its polls come when the test moves time.
    const queue = await h.open({ clock: h.clock.clock });
    const other = await h.reopen(queue);
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    let done = false;
    const wait = queue.waitFor(id, { pollIntervalMs: 250 }).finally(() => (done = true));
    await until("the wait's first read", () => h.clock.pending > 0);
    await other.completeTask((await other.dequeue())!, 7);
    await settle();
    assert.equal(done, false, "not read again yet");
    h.clock.advance(250);
    assert.equal((await wait).result, 7);
  }, { needs: "reopen" });

  suite.test("a timeout rejects with WaitTimeoutError on the queue's clock; an abort with its reason", async (h) => {
    const queue = await h.open({ clock: h.clock.clock });
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const timed = queue.waitFor(id, { timeoutMs: 5_000 });
    let failed: unknown = null;
    void timed.catch((error) => (failed = error));
    for (let slept = 0; slept < 4_000; slept += 1000) {
      await until("a poll's sleep", () => h.clock.pending > 0);
      h.clock.advance(1000); // a poll each second: the task is read again
    }
    await until("the last sleep", () => h.clock.pending > 0);
    assert.deepEqual(h.clock.timers, [1000], "the last second of the timeout");
    h.clock.advance(999);
    await settle();
    assert.equal(failed, null, "not before its time");
    h.clock.advance(1);
    await assert.rejects(timed, (error: unknown) => {
      assert.ok(error instanceof WaitTimeoutError);
      assert.equal(error.taskId, id);
      assert.equal(error.timeoutMs, 5_000);
      assert.equal(error.status, TaskStatus.PENDING);
      assert.equal(error.message, `Cannot wait for task ${id}: still pending after 5000 ms`);
      return true;
    });
    const controller = new AbortController();
    const aborted = queue.waitFor(id, { signal: controller.signal });
    const reason = new Error("user went away");
    controller.abort(reason);
    await assert.rejects(aborted, (error) => error === reason);
    await assert.rejects(queue.waitFor(id, { signal: controller.signal }), (e) => e === reason);
    assert.equal(h.clock.pending, 0, "no timer outlives a wait");
    assert.equal((await queue.getTask(id))?.status, TaskStatus.PENDING, "the task is left alone");
  });

  suite.test("waitFor of a missing task or with bad options throws", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    await assert.rejects(queue.waitFor(404), TaskNotFoundError);
    for (const bad of [{ timeoutMs: -1 }, { pollIntervalMs: 0 }, { signal: "no" }, { other: 1 }]) {
      await assert.rejects(queue.waitFor(id, bad as never), ValidationError);
    }
    await assert.rejects(queue.waitFor(0), ValidationError);
    assert.equal(h.clock.pending, 0);
  });
}
