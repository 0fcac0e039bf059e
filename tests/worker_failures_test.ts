/**
 * Worker failures (issue 9): anything a handler throws fails the attempt with a message; a retry
 * delay that is not a finite number fails the task for good, saying why; a task with no time
 * limit of its own still has the worker's default one (`maxRunMs`).
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskStatus, Worker } from "../mod.ts";
import { fakeTimeQueue, memoryQueue } from "./_helpers.ts";

describe("Worker faults: anything thrown fails the attempt (bug 6)", () => {
  const circular: Record<string, unknown> = { name: "loop" };
  circular.self = circular;
  const badMessage = new Error("x");
  (badMessage as { message: unknown }).message = { code: 42 };
  const getterMessage = new Error("x");
  Object.defineProperty(getterMessage, "message", {
    get() {
      throw new Error("no message for you");
    },
  });
  const hostile = new Proxy({}, {
    get() {
      throw new Error("trap");
    },
    getPrototypeOf() {
      throw new Error("trap");
    },
    ownKeys() {
      throw new Error("trap");
    },
  });
  const cases: [string, () => unknown, RegExp][] = [
    ["a BigInt", () => 10n, /^10$/],
    ["a circular object", () => circular, /object/i],
    [
      "an object with a throwing getter",
      () => ({
        get boom() {
          throw new Error("getter");
        },
      }),
      /object/i,
    ],
    ["an Error whose message is not a string", () => badMessage, /42|Error/],
    ["an Error whose message getter throws", () => getterMessage, /Error/],
    ["a Proxy whose traps throw", () => hostile, /\S/],
    ["null", () => null, /^null$/],
    ["undefined", () => undefined, /^undefined$/],
    ["a Symbol", () => Symbol("boom"), /Symbol\(boom\)/],
    ["a lone surrogate and a NUL", () => new Error("bad \uD800 text \0 here"), /^bad .* here$/],
  ];
  for (const [kind, make, message] of cases) {
    test(`${kind}`, async () => {
      const { queue } = await memoryQueue();
      const errors: unknown[] = [];
      const id = await queue.enqueue({ name: "a", taskType: "t", maxRetries: 1 });
      const worker = new Worker(queue, {
        handlers: {
          t: () => {
            throw make();
          },
        },
        onError: (error) => errors.push(error),
      });
      assert.equal(await worker.tick(), 1);
      const task = (await queue.getTask(id))!;
      assert.deepEqual(errors, [], "the worker reported an error of its own");
      assert.equal(task.status, TaskStatus.PENDING, "the attempt failed, with a retry");
      assert.equal(task.retryCount, 1);
      assert.ok(task.scheduledAt > task.failedAt!, "after its backoff");
      assert.match(task.error!, message);
      assert.equal(task.error, task.error!.toWellFormed());
      assert.ok(!task.error!.includes("\0"));
      await queue.close();
    });
  }

  test("a rejected promise with an unserialisable reason, and a thenable whose then throws", async () => {
    const { queue } = await memoryQueue();
    const errors: unknown[] = [];
    const a = await queue.enqueue({ name: "a", taskType: "reject", maxRetries: 0 });
    const b = await queue.enqueue({ name: "b", taskType: "thenable", maxRetries: 0 });
    const worker = new Worker(queue, {
      handlers: {
        reject: () => Promise.reject(circular),
        thenable: () => ({
          then() {
            throw 5n;
          },
        }),
      },
      onError: (error) => errors.push(error),
    });
    assert.equal(await worker.tick(), 2);
    assert.deepEqual(errors, []);
    assert.equal((await queue.getTask(a))!.status, TaskStatus.FAILED);
    const thenable = (await queue.getTask(b))!;
    assert.equal(thenable.status, TaskStatus.FAILED);
    assert.equal(thenable.error, "5");
    await queue.close();
  });
});

describe("Worker faults: bad retry delays (bug 10)", () => {
  const bad: [string, unknown][] = [
    ["NaN", NaN],
    ["Infinity", Infinity],
    ['the string "10"', "10"],
    ["undefined", undefined],
  ];
  for (const [label, delay] of bad) {
    test(`a queue backoff returning ${label} fails the task for good, saying why`, async () => {
      const { queue } = await memoryQueue({ backoff: () => delay as number });
      const errors: unknown[] = [];
      const id = await queue.enqueue({ name: "a", taskType: "t", maxRetries: 3 });
      const worker = new Worker(queue, {
        handlers: {
          t: () => {
            throw new Error("flaky");
          },
        },
        onError: (error) => errors.push(error),
      });
      assert.equal(await worker.tick(), 1);
      const task = (await queue.getTask(id))!;
      assert.deepEqual(errors, []);
      assert.equal(task.status, TaskStatus.FAILED);
      assert.match(task.error!, /^flaky \(not retried: .*backoff.*finite/);
      await queue.close();
    });

    test(`a handler retry strategy returning ${label} fails the task for good, saying why`, async () => {
      const { queue } = await memoryQueue();
      const errors: unknown[] = [];
      const id = await queue.enqueue({ name: "a", taskType: "t", maxRetries: 3 });
      const worker = new Worker(queue, {
        handlers: {
          t: {
            handler: () => {
              throw new Error("flaky");
            },
            retry: () => delay as number,
          },
        },
        onError: (error) => errors.push(error),
      });
      assert.equal(await worker.tick(), 1);
      const task = (await queue.getTask(id))!;
      assert.deepEqual(errors, []);
      assert.equal(task.status, TaskStatus.FAILED);
      assert.match(task.error!, /^flaky \(not retried: .*retry strategy.*finite/);
      await queue.close();
    });
  }

  test("a negative delay retries at once; a huge one is capped", async () => {
    const { queue, clock } = await memoryQueue({ backoff: () => -5000 });
    const id = await queue.enqueue({ name: "a", taskType: "t", maxRetries: 3 });
    const strategy = await queue.enqueue({ name: "b", taskType: "huge", maxRetries: 3 });
    const worker = new Worker(queue, {
      handlers: {
        t: () => {
          throw new Error("flaky");
        },
        huge: {
          handler: () => {
            throw new Error("slow");
          },
          retry: () => 1e300,
        },
      },
    });
    assert.equal(await worker.tick(), 5, "a ran 4 times (no wait), b once");
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.retryCount, 4);
    assert.equal(task.error, "flaky");
    const later = (await queue.getTask(strategy))!;
    assert.equal(later.status, TaskStatus.PENDING);
    assert.ok(later.scheduledAt > clock.now + 86_400_000, "a huge delay is kept long");
    assert.ok(Number.isSafeInteger(later.scheduledAt));
    await queue.close();
  });
});

describe("Worker faults: a default time limit (bug 11)", () => {
  test("a handler that never settles fails after maxRunMs, and its retry runs", async () => {
    const { queue, clock } = await fakeTimeQueue({ backoff: { baseMs: 10, jitter: 0 } });
    const id = await queue.enqueue({ name: "a", taskType: "hang", maxRetries: 1 });
    let calls = 0;
    const worker = new Worker(queue, {
      handlers: {
        hang: (_payload, ctx) => {
          calls++;
          // Honours its signal, but never settles on its own.
          return new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
          });
        },
      },
      maxRunMs: 5000,
      pollIntervalMs: 100,
    });
    worker.start();
    await clock.tick(4900);
    assert.equal((await queue.getTask(id))!.status, TaskStatus.RUNNING);
    await clock.tick(200);
    await clock.tick(200);
    const task = (await queue.getTask(id))!;
    assert.equal(task.errors[0]?.error, "Task timed out after 5000 ms");
    assert.equal(calls, 2, "its retry ran");
    await clock.tick(5100);
    await worker.stop();
    assert.equal((await queue.getTask(id))!.status, TaskStatus.FAILED);
    await queue.close();
  });

  test("maxRunMs must be a positive integer or Infinity", async () => {
    const { queue } = await memoryQueue();
    for (const maxRunMs of [0, -1, 1.5, NaN, "10"]) {
      assert.throws(
        () => new Worker(queue, { handlers: { t: () => 1 }, maxRunMs: maxRunMs as number }),
        RangeError,
      );
    }
    new Worker(queue, { handlers: { t: () => 1 }, maxRunMs: Infinity });
    await queue.close();
  });
});
