import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type EnqueueOptions, TaskQueue, TaskStatus, ValidationError } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import fc from "fast-check";
import {
  EnqueueManySchema,
  EnqueueSchema,
  parse,
  parseEnqueue,
  parseEnqueueMany,
} from "../src/_validation.ts";
import { memoryQueue } from "./_helpers.ts";

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

const BAD_ENQUEUES: [unknown, RegExp][] = [
  [undefined, /Invalid enqueue options: must be an object/],
  ["send_email", /must be an object/],
  [{ taskType: "t" }, /name is required/],
  [{ name: "", taskType: "t" }, /name must not be empty/],
  [{ name: "   ", taskType: "t" }, /name must not be empty/],
  [{ name: "n", taskType: "" }, /taskType must not be empty/],
  [{ name: "n", taskType: "t".repeat(201) }, /taskType must be at most 200 characters/],
  [{ name: "n", taskType: "t", priority: 5 }, /priority must be a TaskPriority/],
  [{ name: "n", taskType: "t", priority: "HIGH" }, /priority must be a TaskPriority/],
  [{ name: "n", taskType: "t", priority: 2.5 }, /priority must be a TaskPriority/],
  [{ name: "n", taskType: "t", maxRetries: -1 }, /maxRetries must be >= 0/],
  [{ name: "n", taskType: "t", maxRetries: 1.5 }, /maxRetries must be an integer/],
  [{ name: "n", taskType: "t", maxRetries: NaN }, /maxRetries must be/],
  [{ name: "n", taskType: "t", scheduledAt: new Date("nope") }, /scheduledAt must be/],
  [{ name: "n", taskType: "t", scheduledAt: -5 }, /scheduledAt must be/],
  [{ name: "n", taskType: "t", scheduledAt: "tomorrow" }, /scheduledAt must be/],
  [
    { name: "n", taskType: "t", payload: { f: () => 1 } },
    /payload must be JSON data: f is a function/,
  ],
  [{ name: "n", taskType: "t", payload: { n: 10n } }, /payload must be JSON data: n is a BigInt/],
  [{ name: "n", taskType: "t", payload: cyclic }, /payload must be JSON data: self is a circular/],
  [{ name: "n", taskType: "t", payload: [1, NaN] }, /payload must be JSON data: \[1\] is NaN/],
  [{ name: "n", taskType: "t", payload: { d: new Date() } }, /d is a Date, not a plain object/],
  [{ name: "n", taskType: "t", payload: new Map() }, /value is a Map, not a plain object/],
  [{ name: "n", taskType: "t", payload: [undefined] }, /\[0\] is undefined/],
  [{ name: "n", taskType: "t", uniqueKey: "" }, /uniqueKey must not be empty/],
  [{ name: "a\ud800", taskType: "t" }, /name must be well-formed Unicode/],
  [{ name: "n", taskType: "\0t" }, /taskType must not contain a NUL character/],
  [{ name: "n", taskType: "t", uniqueKey: "\udfff" }, /uniqueKey must be well-formed Unicode/],
  [{ name: "n", taskType: "t", max_retries: 3 }, /max_retries is not a known option/],
];

describe("bad input gets a clear error and changes nothing", () => {
  for (const [input, message] of BAD_ENQUEUES) {
    test(`enqueue(${describeInput(input)}) → ${message.source}`, async () => {
      const { queue } = await memoryQueue();
      await queue.enqueue({ name: "existing", taskType: "t" });
      await assert.rejects(queue.enqueue(input as EnqueueOptions), (error: unknown) => {
        assert.ok(error instanceof TypeError, `TypeError, got ${error}`);
        assert.match(error.message, /^Invalid enqueue options: /);
        assert.match(error.message, message);
        return true;
      });
      await assert.rejects(queue.enqueueMany([{ name: "ok", taskType: "t" }, input as never]));
      assert.equal((await queue.getQueueStats()).pending, 1, "no row was written");
      await queue.close();
    });
  }

  test("JSON payloads that round-trip are accepted as given", async () => {
    const { queue } = await memoryQueue();
    const payloads = [
      null,
      "text",
      0,
      -1.5,
      true,
      [],
      { nested: { deep: [1, { x: "é✓" }] } },
      Object.create(null),
    ];
    for (const payload of payloads) {
      const id = await queue.enqueue({ name: "n", taskType: "t", payload });
      assert.deepEqual((await queue.getTask(id))!.payload, JSON.parse(JSON.stringify(payload)));
    }
    const id = await queue.enqueue({
      name: "n",
      taskType: "t",
      payload: { a: 1, gone: undefined },
    });
    assert.deepEqual((await queue.getTask(id))!.payload, { a: 1 });
    await queue.close();
  });

  test("dequeue options are checked", async () => {
    const { queue } = await memoryQueue();
    await queue.enqueue({ name: "n", taskType: "t" });
    const cases: [unknown, RegExp][] = [
      [{ leaseMs: 0 }, /leaseMs must be >= 1/],
      [{ leaseMs: -10 }, /leaseMs must be >= 1/],
      [{ leaseMs: "30s" }, /leaseMs must be a number/],
      [{ taskTypes: [] }, /taskTypes must not be empty/],
      [{ taskTypes: "t" }, /taskTypes must be an array/],
      [{ lease: 5 }, /lease is not a known option/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(queue.dequeue(options as never), message);
    }
    await assert.rejects(queue.dequeueMany(0), /Invalid dequeue limit: must be >= 1/);
    assert.equal((await queue.getQueueStats()).pending, 1, "nothing was claimed");
    await queue.close();
  });

  test("transition arguments are checked and leave the task as it was", async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const task = (await queue.dequeue())!;
    const before = await queue.getTask(id);
    await assert.rejects(queue.completeTask(task, [{ n: 1n }]), /Invalid task result/);
    await assert.rejects(queue.completeTask(task, 10n as never), /BigInt/);
    await assert.rejects(queue.failTask(task, ""), /Invalid task error/);
    await assert.rejects(queue.failTask(task, 42 as never), /Invalid task error/);
    await assert.rejects(queue.failTask(task, "x", { retry: "no" } as never), /retry must be/);
    await assert.rejects(queue.completeTask(-1), /Invalid task: must be >= 1/);
    await assert.rejects(queue.completeTask({ id: 1 } as never), /Invalid task/);
    await assert.rejects(queue.cancelTask(1.5), /Invalid task id: must be an integer/);
    await assert.rejects(queue.retryTask("1" as never), /Invalid task id: must be a number/);
    await assert.rejects(queue.getTask(0), /Invalid task id: must be >= 1/);
    assert.deepEqual(await queue.getTask(id), before);
    await queue.close();
  });

  test("list arguments are checked", async () => {
    const { queue } = await memoryQueue();
    await assert.rejects(
      queue.getTasksByStatus("done" as TaskStatus),
      /Invalid task status: must be one of pending, running, completed, failed, cancelled/,
    );
    await assert.rejects(queue.getTasksByStatus(TaskStatus.PENDING, -1), /Invalid list limit/);
    await assert.rejects(queue.getTasksByStatus(TaskStatus.PENDING, 10, -1), /Invalid list offset/);
    await queue.close();
  });

  test("open options are checked", async () => {
    await assert.rejects(TaskQueue.open({ synchronous: "SOMETIMES" as never }), /synchronous/);
    await assert.rejects(TaskQueue.open({ leaseMs: 0 }), /leaseMs must be a positive integer/);
    await assert.rejects(TaskQueue.open({ path: "" }), /path must be a non-empty string/);
    await assert.rejects(TaskQueue.open({ database: {} as never }), /database must be/);
    await assert.rejects(
      TaskQueue.open({ backoff: { jitter: 2 } }),
      /jitter must be a number between 0 and 1/,
    );
    await assert.rejects(
      TaskQueue.open({ lease_ms: 5 } as never),
      /lease_ms is not a known option/,
    );
    await assert.rejects(TaskQueue.open({ clock: 5 } as never), /clock must be a Clock/);
    await assert.rejects(TaskQueue.open({ logger: {} } as never), /logger\.debug/);
  });
});

describe("ValidationError", () => {
  test("bad queue input throws a ValidationError, a TypeError carrying the valibot issues", async () => {
    const { queue } = await memoryQueue();
    const error = await queue.enqueue({ name: "n", taskType: "", priority: 9 } as never).then(
      () => assert.fail("accepted"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof ValidationError, `ValidationError, got ${error}`);
    assert.ok(error instanceof TypeError);
    assert.equal(error.name, "ValidationError");
    assert.match(error.message, /^Invalid enqueue options: taskType must not be empty; priority /);
    assert.deepEqual(
      error.issues.map((issue) => [issue.path?.map((item) => item.key).join("."), issue.message]),
      [
        ["taskType", "must not be empty"],
        ["priority", "must be a TaskPriority: 1 (LOW), 2 (NORMAL), 3 (HIGH) or 4 (CRITICAL)"],
      ],
    );
    assert.ok(error.cause instanceof Error, "the ValiError stays chained as cause");
    assert.deepEqual((error.cause as { issues?: unknown }).issues, error.issues);

    // A check outside valibot (croner refuses the pattern) is one too, without issues.
    await assert.rejects(queue.schedule("s", "99 * * * *", { taskType: "t" }), (error) => {
      assert.ok(error instanceof ValidationError, `ValidationError, got ${error}`);
      assert.match(error.message, /^Invalid cron pattern "99 \* \* \* \*"/);
      assert.deepEqual(error.issues, []);
      return true;
    });
    await queue.close();
  });

  test("the HTTP API answers a ValidationError with 400 and anything else with 500", async () => {
    const { queue } = await memoryQueue();
    const app = createQueueApp(queue);
    // The body passes the route's schema; the queue (croner) refuses the pattern.
    const bad = await app.request("/schedules/nightly", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cron: "99 * * * *", taskType: "t" }),
    });
    assert.equal(bad.status, 400);
    const body = await bad.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, "bad_request");
    assert.match(body.error.message, /^Invalid cron pattern/);

    // A TypeError that is not a ValidationError is a server fault, whatever its message says.
    queue.getQueueStats = () => Promise.reject(new TypeError("Invalid but not validation"));
    const fault = await app.request("/stats");
    assert.equal(fault.status, 500);
    queue.getQueueStats = () => Promise.reject(new ValidationError("Invalid stats request"));
    const refused = await app.request("/stats");
    assert.equal(refused.status, 400);
    assert.equal(
      (await refused.json() as { error: { message: string } }).error.message,
      "Invalid stats request",
    );
    await queue.close();
  });
});

function describeInput(input: unknown): string {
  try {
    return JSON.stringify(input)?.slice(0, 60) ?? String(input);
  } catch {
    return "<cyclic>";
  }
}

describe("the enqueue fast path", () => {
  // Plain tasks skip valibot (src/_validation.ts, enqueueFast): whatever the input, the result
  // must be what valibot's EnqueueSchema gives, or the same refusal.
  const outcome = (fn: () => unknown) => {
    try {
      return { ok: fn() };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  // Any UTF-16 code units, often a surrogate or a NUL: text a TEXT column would alter.
  const codeUnit = fc.oneof(
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.constant(0),
    fc.nat(0xffff),
  )
    .map((unit) => String.fromCharCode(unit));
  const units = (maxLength: number) => fc.string({ unit: codeUnit, maxLength });
  const field = fc.oneof(
    fc.string({ maxLength: 3 }),
    units(3),
    fc.constantFrom("", "  ", "x".repeat(1001), "t".repeat(201)),
    fc.constantFrom("\0", "a\0", "\ud800", "\udc00a", "\ud83d\ude00", "\ude00\ud83d"),
    fc.integer({ min: -2, max: 1002 }),
    fc.double(),
    fc.constantFrom(undefined, null, true, -1, 0, 1, 2, 3, 4, 5, 2.5, 1000, 1001, NaN, Infinity),
    fc.jsonValue(),
    fc.constantFrom({ a: undefined }, [undefined], { d: new Date(0) }, 10n),
  );
  // Mostly valid, so that each rule is often the only one broken.
  const mostly = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: field, weight: 1 });
  const input = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record(
        {
          name: mostly(fc.oneof(fc.constantFrom("n", " n ", "x".repeat(1000), "😀"), units(4))),
          taskType: mostly(fc.constantFrom("t", "t".repeat(200))),
          payload: mostly(fc.oneof(fc.jsonValue(), units(4))),
          priority: mostly(fc.constantFrom(1, 2, 3, 4)),
          maxRetries: mostly(fc.integer({ min: 0, max: 1000 })),
        },
        { requiredKeys: ["name", "taskType"] },
      ),
    },
    { weight: 1, arbitrary: fc.record({ name: field, taskType: field, extra: field }) },
    { weight: 1, arbitrary: field },
  );

  test("agrees with EnqueueSchema, one task and batches", () => {
    fc.assert(
      fc.property(input, (value) => {
        assert.deepEqual(
          outcome(() => parseEnqueue(value, "enqueue options")),
          outcome(() => parse(EnqueueSchema, value, "enqueue options")),
        );
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.array(input, { maxLength: 4 }), (list) => {
        assert.deepEqual(
          outcome(() => parseEnqueueMany(list, "enqueue options")),
          outcome(() => parse(EnqueueManySchema, list, "enqueue options")),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
