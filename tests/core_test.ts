/**
 * The core's pure decisions, tested directly: the retry decision, the claim plan for pauses and
 * limits, and schedule firings. Engines only apply what these return.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decideRetry, failOptionsFor, PermanentError, RetryableError } from "../mod.ts";
import type { Schedule, TypeControl } from "../mod.ts";
import { planClaim } from "../src/core/claim_plan.ts";
import { keyRoom, splitCandidates } from "../src/core/key_limits.ts";
import { planFirings } from "../src/core/schedule.ts";

const fresh = { retryCount: 0, maxRetries: 3, retryPolicy: null, cancelRequestedAt: null };
const backoff = (retryCount: number) => retryCount * 1000;

describe("the retry decision", () => {
  test("the queue's backoff applies when nothing else chooses", () => {
    assert.deepEqual(decideRetry({ task: fresh, backoff }), { retry: true, delayMs: 1000 });
    assert.deepEqual(decideRetry({ task: { ...fresh, retryCount: 2 }, backoff }), {
      retry: true,
      delayMs: 3000,
    });
  });

  test("spent retries end failed; a cancel asked while it ran wins over everything", () => {
    assert.deepEqual(decideRetry({ task: { ...fresh, retryCount: 3 }, backoff }), {
      retry: false,
      status: "failed",
    });
    const cancelled = { ...fresh, cancelRequestedAt: 5 };
    for (const options of [{}, { retryDelayMs: 10 }, { retry: false }]) {
      assert.deepEqual(decideRetry({ task: cancelled, options, backoff }), {
        retry: false,
        status: "cancelled",
      });
    }
  });

  test("precedence: explicit options, the error's class, the task's policy, the handler, the queue", () => {
    const strategy = () => 7;
    const policy = { type: "fixed", delayMs: 50 } as const;
    const decide = (input: Partial<Parameters<typeof decideRetry>[0]>) =>
      decideRetry({ task: fresh, backoff, ...input });
    assert.deepEqual(decide({ options: { retry: false } }), { retry: false, status: "failed" });
    assert.deepEqual(decide({ error: new PermanentError("no") }), {
      retry: false,
      status: "failed",
    });
    assert.deepEqual(decide({ error: new RetryableError("later", { delayMs: 900 }), strategy }), {
      retry: true,
      delayMs: 900,
    });
    assert.deepEqual(decide({ options: { retryDelayMs: 5 }, error: new RetryableError("x") }), {
      retry: true,
      delayMs: 5,
    });
    assert.deepEqual(decide({ task: { ...fresh, retryPolicy: policy }, strategy }), {
      retry: true,
      delayMs: 50,
    });
    assert.deepEqual(decide({ strategy }), { retry: true, delayMs: 7 });
    assert.deepEqual(decide({ strategy: { type: "fixed", delayMs: 30 } }), {
      retry: true,
      delayMs: 30,
    });
  });

  test("a handler's strategy sees the attempt count, the error and the task; delays are whole ms >= 0", () => {
    const seen: unknown[] = [];
    const error = new Error("boom");
    const options = failOptionsFor({
      task: { ...fresh, retryCount: 1 },
      error,
      strategy: (retryCount, thrown) => {
        seen.push(retryCount, thrown);
        return -12.4;
      },
    });
    assert.deepEqual(options, { retryDelayMs: 0 });
    assert.deepEqual(seen, [2, error]);
    assert.deepEqual(decideRetry({ task: fresh, backoff: () => 1.6 }), {
      retry: true,
      delayMs: 2,
    });
  });
});

const control = (taskType: string, extra: Partial<TypeControl> = {}): TypeControl => ({
  taskType,
  pausedAt: null,
  concurrency: null,
  rate: null,
  concurrencyPerKey: null,
  ratePerKey: null,
  ...extra,
});

describe("the claim plan", () => {
  const counts = (entries: [string, number][] = []) => new Map(entries);

  test("pausing the whole queue blocks the claim", () => {
    const plan = planClaim({
      controls: [control("*", { pausedAt: 1 })],
      running: counts(),
      rateUsed: counts(),
      taskTypes: null,
      limit: 10,
    });
    assert.equal(plan.blocked, true);
  });

  test("paused types and limited ones without room are excluded; limited ones get their room", () => {
    const plan = planClaim({
      controls: [
        control("paused", { pausedAt: 1 }),
        control("pool", { concurrency: 3 }),
        control("api", { rate: { max: 5, intervalMs: 1000 } }),
        control("both", { concurrency: 10, rate: { max: 2, intervalMs: 1000 } }),
        control("full", { concurrency: 1 }),
      ],
      running: counts([["pool", 1], ["both", 0], ["full", 1]]),
      rateUsed: counts([["api", 4], ["both", 0]]),
      taskTypes: null,
      limit: 10,
    });
    assert.equal(plan.blocked, false);
    assert.deepEqual(plan.excluded.sort(), ["full", "paused"]);
    assert.deepEqual(plan.quotas, [
      { taskType: "pool", room: 2 },
      { taskType: "api", room: 1 },
      { taskType: "both", room: 2 },
    ]);
    assert.deepEqual(plan.rated.sort(), ["api", "both"]);
  });

  test("a paused limited type gets no quota; a claim of some types plans only those; room <= limit", () => {
    const plan = planClaim({
      controls: [
        control("a", { concurrency: 50, pausedAt: 1 }),
        control("b", { concurrency: 50 }),
        control("c", { concurrency: 50 }),
      ],
      running: counts(),
      rateUsed: counts(),
      taskTypes: ["b"],
      limit: 4,
    });
    assert.deepEqual(plan.quotas, [{ taskType: "b", room: 4 }]);
    assert.deepEqual(plan.excluded.sort(), ["a", "c"]);
  });

  test("types with per-key limits are keyed (with a quota when limited per type too), and rated", () => {
    const plan = planClaim({
      controls: [
        control("tenant", { concurrencyPerKey: 2 }),
        control("both", { concurrency: 5, ratePerKey: { max: 1, intervalMs: 1000 } }),
        control("full", { concurrency: 1, concurrencyPerKey: 1 }),
        control("paused", { concurrencyPerKey: 1, pausedAt: 1 }),
        control("other", { concurrencyPerKey: 1 }),
      ],
      running: counts([["full", 1]]),
      rateUsed: counts(),
      taskTypes: ["tenant", "both", "full", "paused"],
      limit: 10,
    });
    assert.deepEqual(plan.keyed, ["tenant", "both"]);
    assert.deepEqual(plan.quotas, [{ taskType: "both", room: 5 }]);
    assert.deepEqual(plan.excluded.sort(), ["full", "paused"]);
    assert.deepEqual(plan.rated, ["both"]);
  });
});

describe("limits per concurrency key", () => {
  test("a key's room is what its concurrency and rate leave, within the claim, never below 0", () => {
    const both = control("t", { concurrencyPerKey: 3, ratePerKey: { max: 5, intervalMs: 1000 } });
    assert.equal(keyRoom(both, { running: 0, claimed: 0 }, 10), 3);
    assert.equal(keyRoom(both, { running: 1, claimed: 3 }, 10), 2);
    assert.equal(keyRoom(both, { running: 0, claimed: 4 }, 10), 1);
    assert.equal(keyRoom(both, { running: 4, claimed: 0 }, 10), 0, "over its limit: 0");
    assert.equal(keyRoom(both, { running: 0, claimed: 0 }, 2), 2, "at most the claim's limit");
    assert.equal(keyRoom(control("t"), { running: 9, claimed: 9 }, 7), 7, "no per-key limit");
  });

  test("a round's candidates: keyed ones give their type slots, the rest is claimed as read", () => {
    const split = splitCandidates(
      [
        { id: 1, taskType: "t", concurrencyKey: "a" },
        { id: 2, taskType: "t", concurrencyKey: null },
        { id: 3, taskType: "u", concurrencyKey: "a" },
        { id: 4, taskType: "t", concurrencyKey: "b" },
        { id: 5, taskType: "capped", concurrencyKey: null },
        { id: 6, taskType: "capped", concurrencyKey: null },
        { id: 7, taskType: "t", concurrencyKey: "a" },
      ],
      new Map([["capped", 1], ["t", 3]]),
      new Set(["t"]),
    );
    assert.deepEqual(split.plain, [2, 3, 5], "keyless, of a type without per-key limits, in room");
    assert.deepEqual([...split.slots], [["t", 2]], "t's room of 3 holds its keyless task too");
    assert.deepEqual(split.filled.sort(), ["capped", "t"]);
  });
});

describe("schedule firings", () => {
  const schedule: Schedule = {
    name: "nightly",
    cron: "0 3 * * *",
    timezone: null,
    taskType: "cleanup",
    taskName: "Nightly cleanup",
    payload: { days: 30 },
    priority: 3,
    maxRetries: 2,
    timeoutMs: 60_000,
    nextRunAt: Date.UTC(2026, 0, 1, 3),
    lastRunAt: null,
    lastTaskId: null,
    paused: false,
    createdAt: 0,
    updatedAt: 0,
  };

  test("a due schedule fires its slot once and moves to the first slot after now", () => {
    const now = Date.UTC(2026, 0, 3, 12); // two days of downtime: only the latest slot fires
    const [firing, ...rest] = planFirings([schedule], now);
    assert.equal(rest.length, 0);
    assert.equal(firing!.slot, schedule.nextRunAt);
    assert.equal(firing!.nextRunAt, Date.UTC(2026, 0, 4, 3));
    assert.deepEqual(firing!.task, {
      name: "Nightly cleanup",
      taskType: "cleanup",
      payload: { days: 30 },
      priority: 3,
      scheduledAt: schedule.nextRunAt,
      maxRetries: 2,
      uniqueKey: null,
      concurrencyKey: null,
      timeoutMs: 60_000,
      retryPolicy: null,
    });
  });

  test("paused schedules and schedules without a slot do not fire", () => {
    const now = Date.UTC(2026, 0, 3);
    assert.deepEqual(
      planFirings([{ ...schedule, paused: true }, { ...schedule, nextRunAt: null }], now),
      [],
    );
  });
});
