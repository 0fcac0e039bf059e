/**
 * Why a task is not running right now: every reason, from the same conditions the claim checks
 * (its status and due time, the pause flags and limits through {@linkcode planClaim}, the claims
 * inside rate windows) and from the worker registry (a live worker for its type). Pure: the queue
 * reads the inputs and hands them here.
 *
 * @module
 */

import type { RateWindow, TypeControl, WorkerRecord } from "../engine.ts";
import type { Task, TaskStatus } from "../task.ts";
import { planClaim } from "./claim_plan.ts";
import { isWorkerAlive } from "./recovery.ts";

/**
 * The codes of {@linkcode ExplainReason}: why a task is not running.
 *
 * @example Usage
 * ```ts
 * import { ExplainCode } from "@tasklite/tasklite";
 *
 * console.log(ExplainCode.NOT_DUE); // "not_due"
 * ```
 */
export const ExplainCode = {
  /** It is finished (`completed`, `failed` or `cancelled`). */
  FINISHED: "finished",
  /** It is running: a worker holds its lease. */
  LEASED: "leased",
  /** It is running and was asked to cancel: its worker aborts it at its next poll or heartbeat. */
  CANCEL_REQUESTED: "cancel_requested",
  /** It is not due until its `scheduledAt`. */
  NOT_DUE: "not_due",
  /** An attempt failed: it waits out its retry delay. */
  BACKOFF: "backoff",
  /** The whole queue is paused. */
  QUEUE_PAUSED: "queue_paused",
  /** Its task type is paused. */
  TYPE_PAUSED: "type_paused",
  /** Its task type's concurrency limit is reached. */
  CONCURRENCY_LIMIT: "concurrency_limit",
  /** Its task type's rate window is full. */
  RATE_LIMIT: "rate_limit",
  /** Its concurrency key is at its limit (per-key limits). */
  KEY_LIMIT: "key_limit",
  /** No live worker has registered for its task type. */
  NO_WORKER: "no_worker",
} as const;

/** One of the {@linkcode ExplainCode} strings. */
export type ExplainCode = typeof ExplainCode[keyof typeof ExplainCode];

/** Every explain code, in the order reasons are listed. */
export const EXPLAIN_CODES: readonly ExplainCode[] = Object.values(ExplainCode);

/**
 * One reason a task is not running: a code, a sentence for people, and the data behind it (times
 * are epoch ms).
 */
export type ExplainReason =
  | { code: "finished"; message: string; status: TaskStatus }
  | { code: "leased"; message: string; workerId: string | null; leaseExpiresAt: number | null }
  | { code: "cancel_requested"; message: string; requestedAt: number }
  | { code: "not_due"; message: string; dueAt: number }
  | { code: "backoff"; message: string; attempt: number; dueAt: number }
  | { code: "queue_paused"; message: string; pausedAt: number }
  | { code: "type_paused"; message: string; taskType: string; pausedAt: number }
  | {
    code: "concurrency_limit";
    message: string;
    taskType: string;
    limit: number;
    running: number;
    /** Running tasks of the type (the newest few). */
    heldBy: number[];
  }
  | {
    code: "rate_limit";
    message: string;
    taskType: string;
    max: number;
    intervalMs: number;
    used: number;
    /** When the window has room again. */
    until: number;
  }
  | ({ code: "key_limit"; message: string } & KeyLimitUse)
  | { code: "no_worker"; message: string; taskType: string };

/** Why a task is or is not running. */
export interface TaskExplanation {
  /** The task as read. */
  task: Task;
  /**
   * Whether a claim made now may take it: pending, due, not paused, its limits with room. A
   * `no_worker` reason does not change it (a `dequeue()` of your own still can).
   */
  runnable: boolean;
  /** Every reason it is not running now; empty when it is runnable and a live worker wants it. */
  reasons: ExplainReason[];
}

/** A concurrency key's use, as per-key limits count it (see {@linkcode ExplainInput}). */
export interface KeyLimitUse {
  /** The task's concurrency key. */
  key: string;
  /** At most this many running with that key (`null`: no per-key concurrency limit). */
  limit: number | null;
  /** Running with that key now. */
  running: number;
  /** Those running tasks (the newest few). */
  heldBy: number[];
  /**
   * The per-key rate limit and its window now (absent: none): `used` claims of at most `max` per
   * `intervalMs`, the oldest leaving the window at `until`.
   */
  rate?: { max: number; intervalMs: number; used: number; until: number | null };
}

/** What an explanation is computed from. */
export interface ExplainInput {
  /** The task. */
  task: Task;
  /** Now, epoch ms. */
  now: number;
  /** Every pause flag and limit. */
  controls: readonly TypeControl[];
  /** Running tasks per type. */
  running: ReadonlyMap<string, number>;
  /** Running tasks of the task's type (the newest few), named by a concurrency reason. */
  heldBy: readonly number[];
  /** The claims inside each rate-limited type's window. */
  rateWindows: readonly RateWindow[];
  /** The registered workers, live or dead. */
  workers: readonly WorkerRecord[];
  /**
   * The task's concurrency key and its use, when per-key limits apply to it (`null` or absent:
   * none). The engine that stores keys reads it; a key at its limit is a `key_limit` reason.
   */
  keyLimit?: KeyLimitUse | null;
}

const at = (ms: number) => new Date(ms).toISOString();

/**
 * Every reason a task is not running now.
 *
 * @example Usage
 * ```ts
 * import { explainTask, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const id = await queue.enqueue({ name: "Later", taskType: "job", scheduledAt: 4_000_000_000_000 });
 * const task = (await queue.getTask(id))!;
 * const explanation = explainTask({
 *   task,
 *   now: Date.now(),
 *   controls: [],
 *   running: new Map(),
 *   heldBy: [],
 *   rateWindows: [],
 *   workers: [],
 * });
 * console.log(explanation.reasons.map((reason) => reason.code)); // ["not_due", "no_worker"]
 * await queue.close();
 * ```
 *
 * @param input The task, now, and what the claim would weigh.
 * @returns Whether a claim may take it now, and every reason it is not running.
 */
export function explainTask(input: ExplainInput): TaskExplanation {
  const { task, now } = input;
  const reasons: ExplainReason[] = [];
  if (task.status === "completed" || task.status === "failed" || task.status === "cancelled") {
    const message = `Task ${task.id} is ${task.status}` +
      (task.completedAt === null ? "" : ` since ${at(task.completedAt)}`);
    reasons.push({ code: "finished", message, status: task.status });
    return { task, runnable: false, reasons };
  }
  if (task.status === "running") {
    const { workerId, leaseExpiresAt } = task;
    const message = `Task ${task.id} is running: leased by worker ${workerId ?? "(unnamed)"}` +
      (leaseExpiresAt === null ? "" : ` until ${at(leaseExpiresAt)}`);
    reasons.push({ code: "leased", message, workerId, leaseExpiresAt });
    if (task.cancelRequestedAt !== null) {
      reasons.push({
        code: "cancel_requested",
        message: `Task ${task.id} was asked to cancel at ${
          at(task.cancelRequestedAt)
        }; its worker aborts it at its next poll or heartbeat`,
        requestedAt: task.cancelRequestedAt,
      });
    }
    return { task, runnable: false, reasons };
  }
  if (task.scheduledAt > now) {
    const dueAt = task.scheduledAt;
    if (task.retryCount > 0 && task.failedAt !== null) {
      reasons.push({
        code: "backoff",
        message: `Task ${task.id} is in backoff after attempt ${task.attempts} until ${at(dueAt)}`,
        attempt: task.attempts,
        dueAt,
      });
    } else {
      reasons.push({
        code: "not_due",
        message: `Task ${task.id} is not due until ${at(dueAt)}`,
        dueAt,
      });
    }
  }
  reasons.push(...limitReasons(input));
  // Per-key limits (a task's concurrencyKey): their counts come from the engine that stores keys.
  const key = input.keyLimit;
  if (key && key.limit !== null && key.running >= key.limit) {
    reasons.push({
      code: "key_limit",
      message: `Concurrency key "${key.key}" is at its limit ${key.running}/${key.limit}` +
        held(key.heldBy),
      ...key,
      heldBy: [...key.heldBy],
    });
  }
  if (key?.rate && key.rate.used >= key.rate.max) {
    const { max, intervalMs, used, until } = key.rate;
    reasons.push({
      code: "key_limit",
      message: `Concurrency key "${key.key}" used its rate window: ${used}/${max} claims per ` +
        `${intervalMs} ms` + (until === null ? "" : `, until ${at(until)}`),
      ...key,
      heldBy: [...key.heldBy],
    });
  }
  const runnable = reasons.length === 0;
  const wanted = input.workers.some((worker) =>
    isWorkerAlive(worker, now) &&
    (worker.taskTypes === null || worker.taskTypes.includes(task.taskType))
  );
  if (!wanted) {
    reasons.push({
      code: "no_worker",
      message: `No live worker is registered for task type "${task.taskType}"`,
      taskType: task.taskType,
    });
  }
  return { task, runnable, reasons };
}

const held = (ids: readonly number[]) =>
  ids.length === 0 ? "" : `, held by task${ids.length === 1 ? "" : "s"} ${ids.join(", ")}`;

/** Pauses and limits, as the claim plan sees them for the task's type. */
function limitReasons(input: ExplainInput): ExplainReason[] {
  const { task, controls, running, now } = input;
  const type = task.taskType;
  const rateUsed = new Map(input.rateWindows.map((w) => [w.taskType, w.claimedAt.length]));
  const plan = (only: readonly TypeControl[]) =>
    planClaim({ controls: only, running, rateUsed, taskTypes: [type], limit: 1 });
  const reasons: ExplainReason[] = [];
  const all = controls.find((c) => c.taskType === "*");
  if (plan(controls).blocked && all?.pausedAt != null) {
    reasons.push({
      code: "queue_paused",
      message: `The queue is paused (since ${at(all.pausedAt)})`,
      pausedAt: all.pausedAt,
    });
  }
  const own = controls.find((c) => c.taskType === type);
  if (!own || !plan([own]).excluded.includes(type)) return reasons;
  if (own.pausedAt !== null) {
    reasons.push({
      code: "type_paused",
      message: `Task type "${type}" is paused (since ${at(own.pausedAt)})`,
      taskType: type,
      pausedAt: own.pausedAt,
    });
  }
  const free = { ...own, pausedAt: null };
  if (own.concurrency !== null && plan([{ ...free, rate: null }]).excluded.includes(type)) {
    const count = running.get(type) ?? 0;
    reasons.push({
      code: "concurrency_limit",
      message: `Task type "${type}" is at its concurrency limit ${count}/${own.concurrency}` +
        held(input.heldBy),
      taskType: type,
      limit: own.concurrency,
      running: count,
      heldBy: [...input.heldBy],
    });
  }
  if (own.rate !== null && plan([{ ...free, concurrency: null }]).excluded.includes(type)) {
    const claimed = input.rateWindows.find((w) => w.taskType === type)?.claimedAt ?? [];
    const { max, intervalMs } = own.rate;
    // Room opens when the claim that puts the window back under `max` leaves it.
    const leaving = claimed[Math.max(0, claimed.length - max)] ?? now;
    const until = leaving + intervalMs;
    reasons.push({
      code: "rate_limit",
      message:
        `Task type "${type}" has used its rate limit ${claimed.length}/${max} per ${intervalMs} ms until ${
          at(until)
        }`,
      taskType: type,
      max,
      intervalMs,
      used: claimed.length,
      until,
    });
  }
  return reasons;
}
