/**
 * What follows an expired lease: the worker died (or lost touch) without completing or failing
 * its task, so the attempt counts as failed and the task gets the retry decision of a failed
 * attempt ({@linkcode decideRetry}: a cancel wins, spent retries end it `failed`, else the task's
 * own stored retry policy gives the delay). No handler is left to ask, so neither an error class
 * nor a handler's strategy weighs in; and the queue's `backoff` does not either: the lease that had
 * to run out is the wait a crash already cost, so a task without a policy of its own is due again
 * at once. A task whose handler may crash its process again (a poison task) gets a `retryPolicy`.
 *
 * A recovered task keeps its place: its priority never changes, and with no delay it keeps its
 * original due time, so it is claimed before the backlog enqueued after it rather than behind it.
 * With a delay it is due at `now + delay` (never earlier than it was due before).
 *
 * @module
 */

import { decideRetry, type RetryTask } from "./retry.ts";
import type { Task } from "../task.ts";

/** What the recovery decision reads of the task. */
export type RecoveryTask = RetryTask & Pick<Task, "scheduledAt">;

/** Everything the recovery decision weighs. */
export interface RecoveryInput {
  /** The task as its expired lease left it. */
  task: RecoveryTask;
  /** Now, epoch ms: when the lease is recovered. */
  now: number;
  /**
   * The random source for a stored policy's jitter.
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/**
 * When a task whose lease expired is due again, or `null` when it ends (`failed`, or `cancelled`
 * when a cancel was asked while it ran).
 *
 * @example Usage
 * ```ts
 * import { recoveryRetryAt } from "@tasklite/tasklite";
 *
 * const task = {
 *   retryCount: 0,
 *   maxRetries: 3,
 *   retryPolicy: null,
 *   cancelRequestedAt: null,
 *   scheduledAt: 1_000,
 * };
 * console.log(recoveryRetryAt({ task, now: 5_000 })); // 1000: its old place
 * const retryPolicy = { type: "fixed", delayMs: 200 } as const;
 * console.log(recoveryRetryAt({ task: { ...task, retryPolicy }, now: 5_000 })); // 5200
 * console.log(recoveryRetryAt({ task: { ...task, retryCount: 3 }, now: 5_000 })); // null
 * ```
 *
 * @param input The task and now.
 * @returns The new due time, epoch ms, or `null`.
 */
export function recoveryRetryAt(input: RecoveryInput): number | null {
  const { task, now } = input;
  const decision = decideRetry({
    task,
    backoff: () => 0,
    ...(input.random ? { random: input.random } : {}),
  });
  if (!decision.retry) return null;
  if (decision.delayMs === 0) return task.scheduledAt;
  return Math.max(task.scheduledAt, now + decision.delayMs);
}

/**
 * How many of its beat intervals a registered worker may go without a heartbeat before it counts
 * as dead: its leases are then recovered at once instead of when they run out.
 */
export const WORKER_DEAD_AFTER_BEATS = 3;

/**
 * The shortest silence that makes a worker dead, whatever its beat interval: 10 s, so that a
 * worker stalled a few seconds (a lock waited for, a long garbage collection, a synchronous
 * handler) keeps its leases. Leases shorter than this gain nothing from the registry.
 */
export const WORKER_DEAD_MIN_MS = 10_000;

/** How long a dead worker stays listed (marked dead) before the registry forgets it: one hour. */
export const WORKER_FORGET_AFTER_MS = 3_600_000;

/** What the liveness decision reads of a registered worker. */
export interface WorkerBeat {
  /** Its last heartbeat, epoch ms. */
  heartbeatAt: number;
  /** How often it beats, in ms. */
  beatIntervalMs: number;
}

/**
 * Whether a registered worker is alive: it beat within {@linkcode WORKER_DEAD_AFTER_BEATS} of its
 * beat intervals, or within {@linkcode WORKER_DEAD_MIN_MS} when that is longer. A dead worker's
 * leases are recovered early (by `maintain()` and `recover()`).
 *
 * @example Usage
 * ```ts
 * import { isWorkerAlive } from "@tasklite/tasklite";
 *
 * const worker = { heartbeatAt: 100_000, beatIntervalMs: 5_000 };
 * console.log(isWorkerAlive(worker, 112_500)); // true
 * console.log(isWorkerAlive(worker, 115_001)); // false: three beats missed
 * console.log(isWorkerAlive({ heartbeatAt: 0, beatIntervalMs: 1_000 }, 9_000)); // true: 10 s at least
 * ```
 *
 * @param worker Its last beat and beat interval.
 * @param now Now, epoch ms.
 * @returns `true` while it beats.
 */
export function isWorkerAlive(worker: WorkerBeat, now: number): boolean {
  const silence = Math.max(WORKER_DEAD_AFTER_BEATS * worker.beatIntervalMs, WORKER_DEAD_MIN_MS);
  return now - worker.heartbeatAt <= silence;
}
