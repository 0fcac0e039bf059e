/**
 * Conformance: the worker registry. A registration (and each beat) is stamped on the queue's
 * clock; `workers()` marks the ones that stopped beating; their leases are recovered early (by
 * `maintain()` and `recover()`, fenced like any recovery), a live worker's are not; dead ones are
 * forgotten after an hour; a started `Worker` registers, beats and deregisters by itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  TaskStatus,
  ValidationError,
  Worker,
  WORKER_DEAD_AFTER_BEATS,
  WORKER_FORGET_AFTER_MS,
} from "../../mod.ts";
import type { TaskQueue, WorkerRegistration } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

const registration = (queue: TaskQueue, id: string): WorkerRegistration => ({
  id,
  host: "box",
  pid: 42,
  runtime: "test 1.0",
  taskTypes: ["email"],
  concurrency: 4,
  startedAt: queue.now() - 5,
  beatIntervalMs: 5000, // dead after 3 × 5 s (more than WORKER_DEAD_MIN_MS)
});

/** Waits (in real time, 10 s at most: a networked engine is slower) until `check` holds. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Registers the worker registry cases. */
export function workerRegistry(suite: Suite): void {
  suite.test("a registered worker is listed alive, dead after three missed beats, then gone", async (h) => {
    const queue = await h.open();
    await queue.registerWorker(registration(queue, "w1"));
    const registeredAt = h.clock.now;
    assert.deepEqual(await queue.workers(), [{
      id: "w1",
      host: "box",
      pid: 42,
      runtime: "test 1.0",
      taskTypes: ["email"],
      concurrency: 4,
      startedAt: registeredAt - 5,
      heartbeatAt: registeredAt,
      beatIntervalMs: 5000,
      alive: true,
    }]);
    h.clock.advance(WORKER_DEAD_AFTER_BEATS * 5000);
    assert.equal((await queue.workers())[0]?.alive, true, "on the edge, still alive");
    h.clock.advance(1);
    assert.equal((await queue.workers())[0]?.alive, false);
    await queue.registerWorker(registration(queue, "w1")); // a late beat brings it back
    assert.deepEqual((await queue.workers()).map((w) => [w.heartbeatAt, w.alive]), [
      [h.clock.now, true],
    ]);
    assert.equal(await queue.deregisterWorker("w1"), true);
    assert.equal(await queue.deregisterWorker("w1"), false);
    assert.deepEqual(await queue.workers(), []);
  });

  suite.test("a dead worker's lease is recovered early; a live or unregistered one's is not", async (h) => {
    const queue = await h.open();
    const [a, b, c] = await queue.enqueueMany([
      { name: "a", taskType: "email" },
      { name: "b", taskType: "email" },
      { name: "c", taskType: "email" },
    ]);
    const recovered: number[] = [];
    queue.on("failed", ({ task }) => recovered.push(task.id));
    await queue.registerWorker(registration(queue, "dying"));
    await queue.registerWorker(registration(queue, "alive"));
    const leaseMs = 60_000;
    assert.equal((await queue.dequeue({ workerId: "dying", leaseMs }))?.id, a);
    const held = (await queue.dequeue({ workerId: "alive", leaseMs }))!;
    assert.equal(held.id, b);
    assert.equal((await queue.dequeue({ workerId: "unregistered", leaseMs }))?.id, c);
    for (let beat = 0; beat < 4; beat++) {
      h.clock.advance(5000);
      await queue.registerWorker(registration(queue, "alive"));
    }
    await queue.maintain();
    const task = (await queue.getTask(a!))!;
    assert.equal(task.status, TaskStatus.PENDING, "recovered 40 s before its lease ran out");
    assert.equal(task.retryCount, 1, "an expired lease counts as a failed attempt");
    assert.equal(task.workerId, "dying");
    assert.deepEqual(recovered, [a]);
    assert.equal((await queue.getTask(b!))?.status, TaskStatus.RUNNING);
    assert.equal((await queue.getTask(c!))?.status, TaskStatus.RUNNING);
    await queue.completeTask(held, "ok"); // the live worker's lease holds
    assert.equal(await queue.recover(), 0, "nothing more to recover");
    assert.deepEqual((await queue.workers()).map((w) => [w.id, w.alive]), [
      ["alive", true],
      ["dying", false],
    ]);
    h.clock.advance(WORKER_FORGET_AFTER_MS);
    await queue.registerWorker(registration(queue, "alive"));
    await queue.maintain();
    assert.deepEqual(
      (await queue.workers()).map((w) => w.id),
      ["alive"],
      "forgotten after an hour",
    );
  });

  suite.test("recover() ends a dead worker's leases too, and a completion after it is refused", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "a", taskType: "email" });
    await queue.registerWorker(registration(queue, "gone"));
    const task = (await queue.dequeue({ workerId: "gone", leaseMs: 60_000 }))!;
    h.clock.advance(15_001);
    assert.equal(await queue.recover(), 1);
    await assert.rejects(queue.completeTask(task, "late"), { name: "LeaseLostError" });
    assert.equal((await queue.getTask(task.id))?.status, TaskStatus.PENDING);
  });

  suite.test("a started Worker registers with its types, beats, and deregisters at stop", async (h) => {
    const queue = await h.open();
    const worker = new Worker(queue, {
      handlers: { email: () => "sent", sms: () => "sent" },
      concurrency: 3,
      pollIntervalMs: 500,
      workerId: "local-1",
      clock: h.clock.clock, // its sleeps on the test's clock too
    });
    assert.deepEqual(await queue.workers(), [], "a worker registers when it starts");
    worker.start();
    await until("the registration", async () => (await queue.workers()).length === 1);
    const [info] = await queue.workers();
    assert.equal(info?.id, "local-1");
    assert.deepEqual(info?.taskTypes, ["email", "sms"]);
    assert.equal(info?.concurrency, 3);
    assert.equal(info?.beatIntervalMs, 1000, "its poll interval, at least a second");
    assert.equal(info?.startedAt, h.clock.now);
    assert.ok(info!.runtime.length > 0, "its runtime");
    const first = info!.heartbeatAt;
    // Time moves on by its poll interval whenever it sleeps (a networked engine answers late).
    await until("a beat", async () => {
      if (h.clock.pending > 0) h.clock.advance(500);
      return (await queue.workers())[0]!.heartbeatAt > first;
    });
    assert.equal((await queue.workers())[0]!.heartbeatAt - first, 1000, "one beat a second");
    const id = await queue.enqueue({ name: "n", taskType: "email" });
    assert.deepEqual(
      (await queue.explain(id)).reasons.map((r) => r.code).includes("no_worker"),
      false,
    );
    await worker.onIdle();
    await worker.stop();
    assert.deepEqual(await queue.workers(), []);
  });

  suite.test("a bad registration is refused and writes nothing", async (h) => {
    const queue = await h.open();
    const good = registration(queue, "w");
    for (
      const bad of [
        { ...good, id: "" },
        { ...good, concurrency: 0 },
        { ...good, beatIntervalMs: -1 },
        { ...good, taskTypes: [""] },
        { ...good, extra: 1 },
        null,
      ]
    ) {
      await assert.rejects(queue.registerWorker(bad as WorkerRegistration), ValidationError);
    }
    await assert.rejects(queue.deregisterWorker("" as string), ValidationError);
    assert.deepEqual(await queue.workers(), []);
  });
}
