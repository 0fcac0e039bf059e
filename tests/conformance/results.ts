/**
 * Conformance: task results. A result is stored as `JSON.stringify` serialises it (a `Date` as its
 * ISO string, `undefined` dropped, `-0` as `0`), through `completeTask`, `completeMany` and a
 * worker; one that cannot be serialised at all (a cycle, a BigInt, a throwing `toJSON`) is refused
 * with a `ValidationError` and changes nothing, and a worker whose handler returns one fails the
 * task for good instead of running the handler again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Task, TaskStatus, ValidationError, Worker } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** A result that JSON.stringify serialises, and what it serialises to. */
const when = new Date(Date.UTC(2026, 11, 1, 12, 30));
const SERIALISABLE = {
  value: {
    when,
    dropped: undefined,
    zero: -0,
    list: [1, undefined, Number.NaN, () => 1],
    custom: { toJSON: () => "custom" },
    nested: { at: [when] },
  },
  stored: {
    when: "2026-12-01T12:30:00.000Z",
    zero: 0,
    list: [1, null, null, null],
    custom: "custom",
    nested: { at: ["2026-12-01T12:30:00.000Z"] },
  },
};

/** Results JSON.stringify throws on, and what the error must say. */
function unserialisable(): [string, unknown, RegExp][] {
  const cycle: Record<string, unknown> = { name: "loop" };
  cycle.self = cycle;
  return [
    [
      "a cycle",
      cycle,
      /Invalid (task result|completions\[0\]\.result): must be serialisable as JSON/,
    ],
    ["a BigInt", { n: 10n }, /must be serialisable as JSON .*BigInt/i],
    ["a throwing toJSON", {
      toJSON: () => {
        throw new Error("no JSON today");
      },
    }, /no JSON today/],
  ];
}

/** Asserts that `call` rejects with a ValidationError matching `message`. */
async function refuses(call: () => Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(call(), (error: unknown) => {
    assert.ok(error instanceof ValidationError, `${error} is a ValidationError`);
    assert.match(error.message, message);
    return true;
  });
}

/** Registers the result cases. */
export function results(suite: Suite): void {
  suite.test("completeTask stores a result as JSON.stringify serialises it", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const done = await queue.completeTask((await queue.dequeue())!, SERIALISABLE.value);
    assert.equal(done.status, TaskStatus.COMPLETED);
    assert.deepEqual(done.result, SERIALISABLE.stored);
    assert.deepEqual((await queue.getTask(id))!.result, SERIALISABLE.stored);
  });

  suite.test("completeMany stores results as JSON.stringify serialises them", async (h) => {
    const queue = await h.open();
    const [a, b] = await queue.enqueueMany([
      { name: "a", taskType: "t" },
      { name: "b", taskType: "t" },
    ]);
    const [first, second] = await queue.dequeueMany(2);
    const settled = await queue.completeMany([
      { task: first!, result: SERIALISABLE.value },
      { task: second!, result: when },
    ]);
    assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "fulfilled"]);
    assert.deepEqual((await queue.getTask(a!))!.result, SERIALISABLE.stored);
    assert.equal((await queue.getTask(b!))!.result, "2026-12-01T12:30:00.000Z");
  });

  suite.test("a result JSON cannot serialise is refused and the task stays running", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    const before = await queue.getTask(id);
    for (const [, value, message] of unserialisable()) {
      await refuses(() => queue.completeTask(task, value), message);
      await refuses(() => queue.completeMany([{ task, result: value }]), message);
    }
    await refuses(
      () => queue.completeTask(task, { deep: nest(70) }),
      /must be JSON data: deep.*nested deeper than 64 levels/,
    );
    assert.deepEqual(await queue.getTask(id), before);
    assert.equal((await queue.completeTask(task, "fine")).result, "fine");
  });

  suite.test("a worker stores a handler's Date result once, without a retry", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 3 });
    let runs = 0;
    const worker = new Worker(queue, {
      handlers: { t: () => (runs++, { when, skipped: undefined }) },
    });
    assert.equal(await worker.tick(), 1);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.COMPLETED, task.error ?? "");
    assert.deepEqual(task.result, { when: "2026-12-01T12:30:00.000Z" });
    assert.equal(task.attempts, 1);
    assert.equal(runs, 1);
  });

  suite.test("a worker fails a task for good when its result cannot be serialised", async (h) => {
    const queue = await h.open();
    const cases = unserialisable();
    const ids = await queue.enqueueMany(
      cases.map(([name]) => ({ name, taskType: name, maxRetries: 3 })),
    );
    const runs = new Map<string, number>();
    const handlers = Object.fromEntries(cases.map(([name, value]) => [name, () => {
      runs.set(name, (runs.get(name) ?? 0) + 1);
      return value;
    }]));
    const worker = new Worker(queue, { handlers, concurrency: cases.length });
    assert.equal(await worker.tick(), cases.length);
    h.clock.advance(3_600_000); // past any backoff: a retried task would be due again
    assert.equal(await worker.tick(), 0, "nothing is due again");
    for (const [i, [name, , message]] of cases.entries()) {
      const task: Task = (await queue.getTask(ids[i]!))!;
      assert.equal(task.status, TaskStatus.FAILED, name);
      assert.equal(task.attempts, 1, name);
      assert.match(task.error!, message, name);
      assert.equal(runs.get(name), 1, `${name}: the handler ran once`);
    }
  });
}

/** An array nested `depth` levels deep. */
function nest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}
