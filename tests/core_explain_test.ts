/**
 * The core's explain and liveness decisions, directly: `explainTask` (a pure function of the task,
 * the controls, the counts, the rate windows, the registry and a per-key limit) and
 * `isWorkerAlive`.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  EXPLAIN_CODES,
  ExplainCode,
  type ExplainInput,
  explainTask,
  isWorkerAlive,
  type Task,
  WORKER_DEAD_AFTER_BEATS,
  WORKER_DEAD_MIN_MS,
  type WorkerRecord,
} from "../mod.ts";

const NOW = 1_000_000;

const pending: Task = {
  id: 7,
  name: "n",
  taskType: "api",
  payload: {},
  priority: 2,
  status: "pending",
  result: null,
  error: null,
  retryCount: 0,
  maxRetries: 3,
  attempts: 0,
  uniqueKey: null,
  concurrencyKey: null,
  createdAt: NOW - 10,
  scheduledAt: NOW - 10,
  startedAt: null,
  completedAt: null,
  failedAt: null,
  workerId: null,
  leaseMs: null,
  leaseExpiresAt: null,
  timeoutMs: null,
  retryPolicy: null,
  progress: null,
  errors: [],
  cancelRequestedAt: null,
};

const worker: WorkerRecord = {
  id: "w",
  host: "h",
  pid: 1,
  runtime: "test",
  taskTypes: null,
  concurrency: 1,
  startedAt: NOW - 100,
  heartbeatAt: NOW,
  beatIntervalMs: 1000,
};

const input = (more: Partial<ExplainInput> = {}): ExplainInput => ({
  task: pending,
  now: NOW,
  controls: [],
  running: new Map(),
  heldBy: [],
  rateWindows: [],
  workers: [worker],
  ...more,
});

const codes = (more: Partial<ExplainInput>) => explainTask(input(more)).reasons.map((r) => r.code);

describe("explainTask", () => {
  test("a due task with a live worker has no reason and is runnable", () => {
    assert.deepEqual(explainTask(input()), { task: pending, runnable: true, reasons: [] });
    assert.deepEqual(EXPLAIN_CODES, Object.values(ExplainCode));
  });

  test("a full rate window opens when the claim that puts it under max leaves it", () => {
    const controls = [{
      taskType: "api",
      pausedAt: null,
      concurrency: null,
      rate: { max: 2, intervalMs: 1000 },
      concurrencyPerKey: null,
      ratePerKey: null,
    }];
    // Three claims in the window, the limit since lowered to 2: two must leave, the 2nd oldest last.
    const rateWindows = [{
      taskType: "api",
      intervalMs: 1000,
      claimedAt: [NOW - 900, NOW - 800, NOW - 700],
    }];
    const [reason] = explainTask(input({ controls, rateWindows })).reasons;
    assert.equal(reason?.code, "rate_limit");
    assert.equal((reason as { until: number }).until, NOW - 800 + 1000);
    assert.equal((reason as { used: number }).used, 3);
    const one = [{ taskType: "api", intervalMs: 1000, claimedAt: [NOW - 900] }];
    assert.deepEqual(codes({ controls, rateWindows: one }), [], "room for one more");
  });

  test("a concurrency and a rate limit both without room are two reasons", () => {
    const controls = [{
      taskType: "api",
      pausedAt: null,
      concurrency: 1,
      rate: { max: 1, intervalMs: 1000 },
      concurrencyPerKey: null,
      ratePerKey: null,
    }];
    const explanation = explainTask(input({
      controls,
      running: new Map([["api", 1]]),
      heldBy: [3],
      rateWindows: [{ taskType: "api", intervalMs: 1000, claimedAt: [NOW - 1] }],
    }));
    assert.equal(explanation.runnable, false);
    assert.deepEqual(explanation.reasons.map((r) => r.code), ["concurrency_limit", "rate_limit"]);
  });

  test("a concurrency key at its limit is a key_limit reason; under it, none", () => {
    const keyLimit = { key: "tenant-a", limit: 2, running: 2, heldBy: [4, 5] };
    const explanation = explainTask(input({ keyLimit }));
    assert.equal(explanation.runnable, false);
    assert.deepEqual(explanation.reasons, [{
      code: "key_limit",
      message: 'Concurrency key "tenant-a" is at its limit 2/2, held by tasks 4, 5',
      key: "tenant-a",
      limit: 2,
      running: 2,
      heldBy: [4, 5],
    }]);
    assert.deepEqual(codes({ keyLimit: { ...keyLimit, running: 1, heldBy: [4] } }), []);
    assert.deepEqual(codes({ keyLimit: null }), []);
    const rate = { max: 3, intervalMs: 60_000, used: 3, until: NOW + 5000 };
    const rated = explainTask(input({ keyLimit: { ...keyLimit, limit: null, running: 0, rate } }));
    assert.deepEqual(rated.reasons.map((r) => [r.code, r.message]), [[
      "key_limit",
      `Concurrency key "tenant-a" used its rate window: 3/3 claims per 60000 ms, until ${
        new Date(NOW + 5000).toISOString()
      }`,
    ]]);
    const room = { ...rate, used: 2 };
    assert.deepEqual(codes({ keyLimit: { ...keyLimit, limit: null, rate: room } }), []);
  });

  test("no_worker: no live worker of its type; it leaves runnable alone", () => {
    const email = { ...worker, taskTypes: ["email"] };
    const result = explainTask(input({ workers: [email] }));
    assert.deepEqual([result.runnable, result.reasons.map((r) => r.code)], [true, ["no_worker"]]);
    const dead = { ...worker, heartbeatAt: NOW - WORKER_DEAD_MIN_MS - 1 };
    assert.deepEqual(codes({ workers: [dead] }), ["no_worker"]);
  });

  test("a finished task has one reason, its status, whatever the controls say", () => {
    const done = { ...pending, status: "completed" as const, completedAt: NOW - 5 };
    const controls = [{
      taskType: "*",
      pausedAt: NOW - 50,
      concurrency: null,
      rate: null,
      concurrencyPerKey: null,
      ratePerKey: null,
    }];
    assert.deepEqual(explainTask(input({ task: done, controls, workers: [] })).reasons, [{
      code: "finished",
      message: `Task 7 is completed since ${new Date(NOW - 5).toISOString()}`,
      status: "completed",
    }]);
  });
});

describe("isWorkerAlive", () => {
  test("alive for 3 beats, and for at least WORKER_DEAD_MIN_MS", () => {
    const slow = { heartbeatAt: 0, beatIntervalMs: 20_000 };
    assert.equal(isWorkerAlive(slow, WORKER_DEAD_AFTER_BEATS * 20_000), true);
    assert.equal(isWorkerAlive(slow, WORKER_DEAD_AFTER_BEATS * 20_000 + 1), false);
    const fast = { heartbeatAt: 0, beatIntervalMs: 10 };
    assert.equal(isWorkerAlive(fast, WORKER_DEAD_MIN_MS), true, "a short beat gets the floor");
    assert.equal(isWorkerAlive(fast, WORKER_DEAD_MIN_MS + 1), false);
  });
});
