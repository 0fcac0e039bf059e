/**
 * The model of the fencing property (`fencing_model.ts`): what it knows of each task and of the
 * workers' claims, the rules it predicts with, and the check that the queue agrees with it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type fc from "fast-check";
import {
  LeaseLostError,
  type QueueStats,
  type Task,
  TASK_STATUSES,
  type TaskPriority,
  type TaskQueue,
  TaskStateError,
  TaskStatus,
} from "../../mod.ts";
import type { FakeClock } from "../_helpers.ts";

/** The simulated workers, each claiming with its own `workerId`. */
export const WORKERS = ["w1", "w2", "w3"] as const;
/** One of {@linkcode WORKERS}. */
export type WorkerId = typeof WORKERS[number];

/** What the model knows of one task. */
export interface ModelTask {
  readonly id: number;
  readonly priority: TaskPriority;
  readonly maxRetries: number;
  status: TaskStatus;
  attempts: number;
  retryCount: number;
  scheduledAt: number;
  workerId: string | null;
  leaseMs: number | null;
  leaseExpiresAt: number | null;
  cancelRequested: boolean;
}

/** The model: the tasks in id order, each worker's claimed copies (stale ones too), the time. */
export interface Model {
  readonly tasks: ModelTask[];
  readonly claims: Task[];
  now: number;
}

/** The system under test. */
export interface Real {
  readonly queue: TaskQueue;
  readonly clock: FakeClock;
}

/** A command of the property. */
export type Command = fc.AsyncCommand<Model, Real>;

/** The model's task `id` (it must be there). */
export const task = (m: Model, id: number): ModelTask => {
  const found = m.tasks.find((t) => t.id === id);
  assert.ok(found, `task ${id} is in the model`);
  return found;
};

/** Claim order: higher priority, then earlier due time, then lower id. */
export const claimOrder = (a: ModelTask, b: ModelTask) =>
  b.priority - a.priority || a.scheduledAt - b.scheduledAt || a.id - b.id;

/** Whether `claim` is the task's current lease: the task runs, and under this attempt. */
export const current = (m: Model, claim: Task) => {
  const t = task(m, claim.id);
  return t.status === TaskStatus.RUNNING && t.attempts === claim.attempts;
};

/** Running tasks whose lease has run out: the ones a dequeue or `recover()` takes back. */
export const expired = (m: Model) =>
  m.tasks.filter((t) => t.status === TaskStatus.RUNNING && t.leaseExpiresAt! <= m.now);

/**
 * Applies the recovery of an expired lease to the model: one failed attempt; `cancelled` when a
 * cancel was asked, `failed` when retries are spent, else `pending` at the due time the queue
 * chose (read back: `row`).
 */
export function recovered(t: ModelTask, row: Task | null): void {
  assert.ok(row, `recovered task ${t.id} still exists`);
  t.retryCount += 1;
  t.status = t.cancelRequested
    ? TaskStatus.CANCELLED
    : t.retryCount > t.maxRetries
    ? TaskStatus.FAILED
    : TaskStatus.PENDING;
  t.leaseExpiresAt = null;
  assert.ok(Number.isSafeInteger(row.scheduledAt), `task ${t.id}: a recovered due time`);
  if (t.status === TaskStatus.PENDING) t.scheduledAt = row.scheduledAt;
}

/** A transition through a claim that is not current: `LeaseLostError`, and nothing changed. */
export async function refusedAsLost(
  r: Real,
  claim: Task,
  attempt: () => Promise<unknown>,
): Promise<void> {
  const before = await r.queue.getTask(claim.id);
  await assert.rejects(attempt(), (error: unknown) => {
    assert.ok(error instanceof LeaseLostError, `a stale claim gets LeaseLostError: ${error}`);
    assert.equal(error.taskId, claim.id);
    return true;
  });
  assert.deepEqual(await r.queue.getTask(claim.id), before, "a refused transition changes nothing");
}

/** A transition by id that does not apply to the status: `TaskStateError`, nothing changed. */
export async function refusedByState(
  r: Real,
  id: number,
  attempt: () => Promise<unknown>,
): Promise<void> {
  const before = await r.queue.getTask(id);
  await assert.rejects(attempt(), (error: unknown) => {
    assert.ok(error instanceof TaskStateError, `expected TaskStateError: ${error}`);
    assert.equal(error.taskId, id);
    return true;
  });
  assert.deepEqual(await r.queue.getTask(id), before, "a refused transition changes nothing");
}

/** The queue agrees with the model: each task, the counts, and the lists by status. */
export async function agree(m: Model, r: Real): Promise<void> {
  assert.equal(r.clock.now, m.now);
  for (const t of m.tasks) {
    const row = await r.queue.getTask(t.id);
    assert.ok(row, `task ${t.id} exists`);
    assert.deepEqual({
      id: row.id,
      status: row.status,
      attempts: row.attempts,
      retryCount: row.retryCount,
      workerId: row.workerId,
      leaseExpiresAt: row.leaseExpiresAt,
      cancelRequested: row.cancelRequestedAt !== null,
      ...(row.status === TaskStatus.PENDING ? { scheduledAt: row.scheduledAt } : {}),
    }, {
      id: t.id,
      status: t.status,
      attempts: t.attempts,
      retryCount: t.retryCount,
      workerId: t.workerId,
      leaseExpiresAt: t.leaseExpiresAt,
      cancelRequested: t.cancelRequested,
      ...(t.status === TaskStatus.PENDING ? { scheduledAt: t.scheduledAt } : {}),
    }, `task ${t.id} as modelled`);
  }
  const counts = Object.fromEntries(
    TASK_STATUSES.map((status) => [status, m.tasks.filter((t) => t.status === status).length]),
  ) as QueueStats;
  assert.deepEqual(await r.queue.getQueueStats(), counts, "getQueueStats matches the model");
  const listed: number[] = [];
  for (const status of TASK_STATUSES) {
    const ids = (await r.queue.getTasksByStatus(status, 1000)).map((t) => t.id);
    const expected = m.tasks.filter((t) => t.status === status).map((t) => t.id);
    assert.deepEqual(ids.toSorted((a, b) => a - b), expected, `the ${status} list`);
    listed.push(...ids);
  }
  assert.deepEqual(
    listed.toSorted((a, b) => a - b),
    m.tasks.map((t) => t.id),
    "every enqueued task is listed under exactly one status",
  );
}
