/**
 * Conformance: the per-minute history (`queue.history()`): attempts counted by the transitions
 * themselves in their minute, percentiles from the histograms, backlog samples from upkeep, the
 * roll-up into all-time totals when retention prunes, and bad options.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ValidationError } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

const MINUTE = 60_000;

/** Registers the history cases. */
export function history(suite: Suite): void {
  suite.test("the history counts each ended attempt in its minute, by type", async (h) => {
    const queue = await h.open();
    h.clock.now = Math.ceil(h.clock.now / MINUTE) * MINUTE; // the start of a minute
    const start = h.clock.now;
    const ids = await queue.enqueueMany([
      { name: "a1", taskType: "a" },
      { name: "a2", taskType: "a" },
      { name: "a3", taskType: "a", maxRetries: 2 },
      { name: "b1", taskType: "b" },
      { name: "c1", taskType: "c" },
    ]);
    h.clock.advance(50); // waited 50 ms
    const claimed = await queue.dequeueMany(4);
    h.clock.advance(200); // ran 200 ms
    const [a1, a2, a3, b1] = claimed;
    await Promise.all([queue.completeTask(a1!), queue.completeTask(a2!)]); // one batch
    await queue.failTask(a3!, "again"); // retried
    await queue.failTask(b1!, "no", { retry: false }); // dead
    h.clock.advance(MINUTE);
    await queue.cancelTask(ids[4]!); // the next minute

    const hist = await queue.history({ windowMs: 5 * MINUTE });
    assert.equal(hist.points.length, 5);
    assert.equal(hist.to, start + 2 * MINUTE);
    const [first, second] = hist.points.slice(-2);
    assert.deepEqual(
      { ...first!, pending: null, running: null },
      { at: start, completed: 2, failed: 1, dead: 1, cancelled: 0, pending: null, running: null },
    );
    assert.equal(second!.cancelled, 1);
    assert.deepEqual(hist.types.map((t) => t.taskType), ["a", "b", "c"]);
    const a = hist.types[0]!;
    assert.deepEqual([a.completed, a.failed, a.dead, a.cancelled], [2, 1, 0, 0]);
    // Durations within a factor of 2 (log-scale bins): every attempt ran 200 ms, waited 50 ms.
    assert.equal(a.runMs.count, 3);
    for (const p of [a.runMs.p50!, a.runMs.p99!]) assert.ok(p >= 128 && p <= 256, `run ${p}`);
    assert.equal(a.waitMs.count, 2, "a retried attempt's wait is not known any more");
    assert.ok(a.waitMs.p50! >= 32 && a.waitMs.p50! <= 64, `wait ${a.waitMs.p50}`);
    const c = hist.types[2]!;
    assert.deepEqual([c.cancelled, c.runMs.count, c.runMs.p50], [1, 0, null]);
    // A type whose only tasks failed is there, in the window and all time.
    assert.deepEqual(
      hist.totals.map((t) => [t.taskType, t.counts]),
      [
        ["a", { completed: 2, failed: 1, dead: 0, cancelled: 0 }],
        ["b", { completed: 0, failed: 0, dead: 1, cancelled: 0 }],
        ["c", { completed: 0, failed: 0, dead: 0, cancelled: 1 }],
      ],
    );
    // Steps: two-minute points add their minutes up.
    const wide = await queue.history({ windowMs: 4 * MINUTE, stepMs: 2 * MINUTE });
    assert.deepEqual(wide.points.map((p) => p.completed + p.failed + p.dead + p.cancelled), [
      0,
      5,
    ]);
  });

  suite.test("an expired lease put back counts as a failed attempt", async (h) => {
    const queue = await h.open({ leaseMs: 1000 });
    await queue.enqueue({ name: "x", taskType: "slow", maxRetries: 1 });
    await queue.dequeue();
    h.clock.advance(1500);
    assert.equal(await queue.recover(), 1);
    const hist = await queue.history();
    assert.deepEqual(hist.types.map((t) => [t.taskType, t.failed]), [["slow", 1]]);
  });

  suite.test("upkeep samples the backlog once a minute, whichever process is first", async (h) => {
    const queue = await h.open();
    h.clock.now = Math.ceil(h.clock.now / MINUTE) * MINUTE;
    await queue.enqueueMany([1, 2, 3].map((n) => ({ name: `${n}`, taskType: "t" })));
    await queue.dequeue();
    await queue.maintain();
    await queue.enqueue({ name: "later", taskType: "t" });
    h.clock.advance(30_000);
    await queue.maintain(); // the same minute: no second sample
    let last = (await queue.history()).points.at(-1)!;
    assert.deepEqual([last.pending, last.running], [2, 1]);
    h.clock.advance(MINUTE);
    await queue.maintain();
    const points = (await queue.history()).points;
    last = points.at(-1)!;
    assert.deepEqual([last.pending, last.running], [3, 1]);
    assert.deepEqual([points.at(-3)!.pending, points.at(-3)!.running], [null, null]);
  });

  suite.test("pruned history rolls up into the all-time totals", async (h) => {
    const queue = await h.open({ retention: { olderThanMs: 86_400_000, historyMs: 3_600_000 } });
    await queue.enqueueMany([1, 2].map((n) => ({ name: `${n}`, taskType: "t" })));
    for (const task of await queue.dequeueMany(2)) await queue.completeTask(task);
    await queue.maintain();
    h.clock.advance(2 * 3_600_000);
    await queue.enqueue({ name: "3", taskType: "t" });
    await queue.completeTask((await queue.dequeue())!);
    await queue.maintain();
    const week = await queue.history({ windowMs: 7 * 86_400_000, stepMs: 3_600_000 });
    assert.equal(week.points.reduce((n, p) => n + p.completed, 0), 1, "old buckets are gone");
    assert.deepEqual(week.totals.map((t) => [t.taskType, t.counts.completed]), [["t", 3]]);
    // Pruning again adds nothing twice.
    h.clock.advance(3 * 3_600_000);
    await queue.maintain();
    const again = await queue.history();
    assert.deepEqual(again.totals.map((t) => [t.taskType, t.counts.completed]), [["t", 3]]);
  });

  suite.test("history survives a reopen", async (h) => {
    let queue = await h.open();
    await queue.enqueue({ name: "x", taskType: "t" });
    await queue.completeTask((await queue.dequeue())!);
    queue = await h.reopen(queue);
    const hist = await queue.history();
    assert.deepEqual(hist.types.map((t) => [t.taskType, t.completed]), [["t", 1]]);
  }, { needs: "reopen" });

  suite.test("bad history options are refused", async (h) => {
    const queue = await h.open();
    for (
      const bad of [
        { windowMs: 0 },
        { windowMs: 8 * 86_400_000 },
        { stepMs: 90_000 },
        { windowMs: MINUTE, stepMs: 2 * MINUTE },
        { window: 1 },
      ]
    ) {
      await assert.rejects(
        queue.history(bad as never),
        ValidationError,
        JSON.stringify(bad),
      );
    }
  });
}
