/**
 * Conformance: concurrency keys. A task carries a `concurrencyKey`; a type's per-key limits
 * (`concurrencyPerKey`, `ratePerKey`) hold per key, counted from running rows and claims in the
 * window (a dead worker's expired lease frees its key's slot); claims of such a type rotate across
 * its keys, so that a key's backlog does not starve another key's tasks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskStatus, ValidationError } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Tasks of `taskType` for key `key`, named `<key><i>`. */
const keyed = (key: string, count: number, taskType = "t", from = 0) =>
  Array.from({ length: count }, (_, i) => ({
    name: `${key}${from + i}`,
    taskType,
    concurrencyKey: key,
  }));

const keysOf = (tasks: readonly { concurrencyKey: string | null }[]) =>
  tasks.map((task) => task.concurrencyKey);

/** Registers the per-key limit and fairness cases. */
export function keyedLimits(suite: Suite): void {
  suite.test("a task keeps its concurrency key; none is null", async (h) => {
    const queue = await h.open();
    const [a, none] = await queue.enqueueMany([
      { name: "a", taskType: "t", concurrencyKey: "tenant-1" },
      { name: "n", taskType: "t" },
    ]);
    const one = await queue.enqueue({ name: "b", taskType: "t", concurrencyKey: "tenant-2" });
    assert.equal((await queue.getTask(a!))!.concurrencyKey, "tenant-1");
    assert.equal((await queue.getTask(none!))!.concurrencyKey, null);
    assert.equal((await queue.getTask(one))!.concurrencyKey, "tenant-2");
    const claimed = await queue.dequeueMany(10);
    assert.deepEqual(keysOf(claimed), ["tenant-1", null, "tenant-2"]);
    const done = await queue.completeTask(claimed[0]!);
    assert.equal(done.concurrencyKey, "tenant-1");
    const found = await queue.getTasksByStatus(TaskStatus.RUNNING, 10, 0, { search: "TENANT-2" });
    assert.deepEqual(found.map((task) => task.id), [one], "search finds a task by its key");
  });

  suite.test("concurrencyPerKey caps running tasks of each key, within a claim and across claims", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrencyPerKey: 2 });
    await queue.enqueueMany([...keyed("a", 5), ...keyed("b", 1), { name: "free", taskType: "t" }]);
    const first = await queue.dequeueMany(10);
    assert.deepEqual(keysOf(first).sort(), ["a", "a", "b", null].sort());
    assert.deepEqual(
      await queue.dequeueMany(10),
      [],
      "a is at its limit, b and the keyless drained",
    );
    await queue.completeTask(first.find((task) => task.concurrencyKey === "a")!);
    const next = await queue.dequeueMany(10);
    assert.deepEqual(keysOf(next), ["a"], "a freed one slot");
    assert.equal(next[0]!.name, "a2", "a key's tasks keep claim order");
  });

  suite.test("a per-key slot frees when a task fails, is released or its lease expires", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrencyPerKey: 1 });
    await queue.enqueueMany(keyed("a", 4).map((task) => ({ ...task, maxRetries: 0 })));
    const first = (await queue.dequeueMany(5))[0]!;
    assert.equal(await queue.dequeue(), null);
    await queue.failTask(first, "down");
    const second = (await queue.dequeueMany(5))[0]!;
    await queue.release(second);
    const third = await queue.dequeueMany(5, { leaseMs: 100 });
    assert.deepEqual(third.map((task) => task.id), [second.id], "released, first again");
    assert.equal(await queue.dequeue(), null);
    h.clock.advance(100);
    const fourth = await queue.dequeueMany(5);
    assert.equal(fourth.length, 1, "the expired lease freed the key's slot: no counter leaked");
    assert.equal((await queue.getTask(second.id))!.status, TaskStatus.FAILED);
  });

  suite.test("ratePerKey: at most N claims per key per interval, sliding", async (h) => {
    const queue = await h.open();
    await queue.setLimits("api", { ratePerKey: { max: 2, intervalMs: 1000 } });
    await queue.enqueueMany([...keyed("a", 5, "api"), ...keyed("b", 1, "api")]);
    const first = await queue.dequeueMany(10);
    assert.deepEqual(keysOf(first).sort(), ["a", "a", "b"]);
    for (const task of first) await queue.completeTask(task);
    h.clock.advance(999);
    assert.deepEqual(await queue.dequeueMany(10), [], "finished claims still count in the window");
    h.clock.advance(1);
    assert.deepEqual(keysOf(await queue.dequeueMany(10)), ["a", "a"]);
  });

  suite.test("per-type and per-key limits together: the tighter holds", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrency: 3, concurrencyPerKey: 2 });
    await queue.enqueueMany([...keyed("a", 5), ...keyed("b", 5)]);
    const claimed = await queue.dequeueMany(10);
    assert.equal(claimed.length, 3, "the type's limit");
    assert.ok(keysOf(claimed).filter((key) => key === "a").length <= 2);
    assert.ok(keysOf(claimed).filter((key) => key === "b").length <= 2);
    await queue.setLimits("t", { rate: { max: 4, intervalMs: 1000 }, concurrencyPerKey: 2 });
    assert.equal((await queue.dequeueMany(10)).length, 1, "a, b at 2 each after one more");
  });

  suite.test("keys of one type do not limit another type, nor tasks of other types", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrencyPerKey: 1 });
    await queue.enqueueMany([...keyed("a", 3), ...keyed("a", 3, "u"), {
      name: "v",
      taskType: "v",
    }]);
    const claimed = await queue.dequeueMany(10);
    assert.deepEqual(
      claimed.map((task) => task.taskType).sort(),
      ["t", "u", "u", "u", "v"],
      "one of t's key a; u has no per-key limit",
    );
  });

  suite.test("fair: with a 100,000-task backlog for key A, a task for key B enqueued later starts within one claim batch", async (h) => {
    const queue = await h.open();
    await queue.setLimits("tenant", { concurrencyPerKey: 1000 });
    for (let from = 0; from < 100_000; from += 10_000) {
      await queue.enqueueMany(keyed("A", 10_000, "tenant", from));
    }
    h.clock.advance(1);
    const b = await queue.enqueue({ name: "B0", taskType: "tenant", concurrencyKey: "B" });
    const batch = await queue.dequeueMany(10, { taskTypes: ["tenant"] });
    assert.equal(batch.length, 10);
    assert.ok(batch.some((task) => task.id === b), "B's task is in the first batch");
    assert.deepEqual(batch.filter((task) => task.concurrencyKey === "A").map((t) => t.name), [
      "A0",
      "A1",
      "A2",
      "A3",
      "A4",
      "A5",
      "A6",
      "A7",
      "A8",
    ], "A's in claim order");
  });

  suite.test("fair: claims rotate across more keys than one claim takes", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrencyPerKey: 100 });
    const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await queue.enqueueMany(keys.flatMap((key) => keyed(key, 5)));
    const first = await queue.dequeueMany(10);
    const second = await queue.dequeueMany(10);
    assert.deepEqual(keysOf(first), keys.slice(0, 10), "one task for each of the first ten keys");
    assert.deepEqual(keysOf(second), keys.slice(10), "then each of the next ten, not k00 again");
    assert.deepEqual(keysOf(await queue.dequeueMany(10)), keys.slice(0, 10), "round again");
  });

  suite.test("fair: a key at its limit is skipped; the claim takes the other keys' tasks", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrencyPerKey: 2 });
    await queue.enqueueMany([...keyed("a", 50), ...keyed("b", 3), ...keyed("c", 3)]);
    const first = await queue.dequeueMany(4);
    assert.deepEqual(keysOf(first).sort(), ["a", "a", "b", "c"].sort().slice(0, 4).sort());
    const rest = await queue.dequeueMany(10);
    assert.deepEqual(
      keysOf([...first, ...rest]).sort(),
      ["a", "a", "b", "b", "c", "c"],
      "two of each key in all",
    );
    assert.deepEqual(await queue.dequeueMany(10), []);
  });

  suite.test("per-key limits hold across connections", async (h) => {
    const a = await h.open();
    const b = await h.reopen(a);
    await a.setLimits("t", { concurrencyPerKey: 1 });
    await a.enqueueMany([...keyed("x", 3), ...keyed("y", 3)]);
    const fromA = await a.dequeueMany(10);
    const fromB = await b.dequeueMany(10);
    assert.deepEqual(keysOf(fromA).sort(), ["x", "y"]);
    assert.deepEqual(fromB, [], "the other connection counts the same running rows");
    await a.completeTask(fromA[0]!);
    assert.equal((await b.dequeueMany(10)).length, 1);
  }, { needs: "reopen" });

  suite.test("bad per-key limits and keys are refused and change nothing", async (h) => {
    const queue = await h.open();
    await queue.setLimits("t", { concurrencyPerKey: 2 });
    const before = await queue.getControls();
    for (
      const limits of [
        { concurrencyPerKey: 0 },
        { concurrencyPerKey: -1 },
        { concurrencyPerKey: 1.5 },
        { concurrencyPerKey: "2" },
        { ratePerKey: { max: 0, intervalMs: 1000 } },
        { ratePerKey: { max: 1, intervalMs: 0 } },
        { ratePerKey: { max: 1 } },
        { perKey: 2 },
      ]
    ) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        queue.setLimits("t", limits as any),
        ValidationError,
        JSON.stringify(limits),
      );
    }
    assert.deepEqual(await queue.getControls(), before);
    for (const concurrencyKey of ["", " ", "x".repeat(501), "a\0b", "\ud800", 7]) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        queue.enqueue({ name: "n", taskType: "t", concurrencyKey: concurrencyKey as any }),
        ValidationError,
      );
      await assert.rejects(
        queue.enqueueMany([
          { name: "ok", taskType: "t", concurrencyKey: "fine" },
          // deno-lint-ignore no-explicit-any
          { name: "n", taskType: "t", concurrencyKey: concurrencyKey as any },
        ]),
        ValidationError,
      );
    }
    assert.equal((await queue.getQueueStats()).pending, 0, "nothing was enqueued");
  });

  suite.test(
    "per-key limits are stored, cleared with the others, and survive a restart",
    async (h) => {
      const a = await h.open();
      await a.setLimits("t", { concurrencyPerKey: 3, ratePerKey: { max: 5, intervalMs: 100 } });
      assert.deepEqual(await a.getControls(), [{
        taskType: "t",
        pausedAt: null,
        concurrency: null,
        rate: null,
        concurrencyPerKey: 3,
        ratePerKey: { max: 5, intervalMs: 100 },
      }]);
      await a.close();
      const b = await h.reopen(a);
      assert.equal((await b.getControls())[0]!.concurrencyPerKey, 3);
      await b.setLimits("t", {});
      assert.deepEqual(await b.getControls(), [], "nothing left to say");
    },
    { needs: "reopen" },
  );
}
