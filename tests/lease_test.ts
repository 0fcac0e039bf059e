// Leases and fencing through the queue API (heartbeats, expiry, LeaseLostError, recovery, two
// connections) are in the conformance suite: tests/conformance/leases.ts, run for every engine by
// tests/conformance_test.ts. Tests of the Worker's own lease handling belong in this file.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LeaseLostError, TaskStatus, Worker } from "../mod.ts";
import { fakeTimeQueue } from "./_helpers.ts";

describe("a worker's leases", () => {
  test("a worker that heartbeats too rarely loses its lease; its late result reaches onError", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const errors: unknown[] = [];
    const finish = Promise.withResolvers<void>();
    const worker = new Worker(queue, {
      leaseMs: 60,
      heartbeatIntervalMs: 1000, // slower than its lease
      onError: (error) => errors.push(error),
      handlers: { t: () => finish.promise.then(() => "late") },
    });
    const ticking = worker.tick();
    await clock.tick(59);
    assert.equal(await queue.dequeue({ workerId: "thief" }), null, "the lease holds until it ends");
    await clock.tick(1);
    const stolen = (await queue.dequeue({ workerId: "thief", leaseMs: 60_000 }))!;
    assert.equal(stolen.id, id);
    assert.equal(stolen.attempts, 2);
    finish.resolve();
    await ticking;
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof LeaseLostError);
    const task = (await queue.getTask(id))!;
    assert.equal(task.workerId, "thief", "the late result changed nothing");
    assert.equal(task.status, TaskStatus.RUNNING);
    await queue.close();
  });

  test("heartbeats keep a lease for as long as the handler runs, on the worker's clock", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const finish = Promise.withResolvers<void>();
    const worker = new Worker(queue, {
      leaseMs: 30_000, // a heartbeat every 10 s
      handlers: { t: () => finish.promise },
    });
    const ticking = worker.tick();
    const leases: number[] = [];
    for (let minute = 0; minute < 5; minute++) {
      await clock.tick(60_000);
      leases.push((await queue.getTask(id))!.leaseExpiresAt! - clock.now);
    }
    assert.ok(leases.every((left) => left > 0 && left <= 30_000), `lease left: ${leases}`);
    assert.equal(await queue.dequeue({ workerId: "thief" }), null);
    finish.resolve();
    await ticking;
    assert.equal((await queue.getTask(id))!.attempts, 1);
    await queue.close();
  });

  test("a heartbeat that finds the lease taken aborts the handler with cause lease_lost", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const errors: unknown[] = [];
    let cause: string | undefined;
    const worker = new Worker(queue, {
      leaseMs: 60,
      heartbeatIntervalMs: 1000, // slower than its lease
      onError: (error) => errors.push(error),
      handlers: {
        t: (_payload, ctx) =>
          new Promise<void>((resolve) =>
            ctx.signal.addEventListener("abort", () => {
              cause = (ctx.signal.reason as { cause: string }).cause;
              resolve();
            })
          ),
      },
    });
    const ticking = worker.tick();
    await clock.tick(60);
    const stolen = (await queue.dequeue({ workerId: "thief", leaseMs: 60_000 }))!;
    assert.equal(stolen.id, id);
    await clock.tick(939);
    assert.equal(cause, undefined, "no heartbeat yet");
    await clock.tick(1); // the first heartbeat finds the lease gone
    await ticking;
    assert.equal(cause, "lease_lost");
    assert.ok(errors.some((error) => error instanceof LeaseLostError));
    assert.equal((await queue.getTask(id))!.workerId, "thief");
    await queue.close();
  });
});
