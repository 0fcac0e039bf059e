/**
 * The retry decision, in one pure function: after a failed attempt, does the task run again, and
 * after how long? It weighs, in this order: a cancel asked while it ran (cancel wins), retries
 * spent, an explicit choice ({@linkcode FailOptions}), the error's class ({@linkcode PermanentError},
 * {@linkcode RetryableError} with a delay), the task's own stored policy, the handler's strategy,
 * and the queue's backoff.
 *
 * A worker that runs remotely knows the error and its handler's strategy but not the queue's
 * backoff; it sends {@linkcode failOptionsFor}'s answer with the failure, and the queue finishes
 * the decision with {@linkcode decideRetry}. Engines receive the outcome as data.
 *
 * One case is the engine's own: a lease that expired (the worker died, so no one is left to ask)
 * is recovered under the engine's lock by a fixed rule: `cancelled` if a cancel was asked,
 * `failed` when retries are spent, else `pending` and due at once.
 *
 * @module
 */

import { retryDelay } from "../backoff.ts";
import { PermanentError, RetryableError } from "../errors.ts";
import type { RetryPolicy, Task } from "../task.ts";

/** How to record a failure. */
export interface FailOptions {
  /**
   * `false` fails the task for good, skipping any retries left.
   *
   * @default {true}
   */
  retry?: boolean | undefined;
  /** Overrides the backoff for this retry, in milliseconds. */
  retryDelayMs?: number | undefined;
}

/**
 * The delay before the next attempt: a {@linkcode RetryPolicy}, or a function of the failed
 * attempts so far, the error and the task.
 */
export type RetryStrategy =
  | RetryPolicy
  | ((retryCount: number, error: unknown, task: Task) => number);

/** What the retry decision reads of the task. */
export type RetryTask = Pick<
  Task,
  "retryCount" | "maxRetries" | "retryPolicy" | "cancelRequestedAt"
>;

/** Everything the retry decision weighs. */
export interface RetryInput {
  /** The task as it was when the attempt failed. */
  task: RetryTask;
  /** What the handler threw, if known. */
  error?: unknown;
  /** The handler's retry strategy, if it has one. */
  strategy?: RetryStrategy | undefined;
  /** An explicit choice (from `failTask`'s options, or a remote worker's {@linkcode failOptionsFor}). */
  options?: FailOptions | undefined;
  /** The queue's backoff, for the failed attempts so far (1 after the first failure). */
  backoff: (retryCount: number) => number;
  /**
   * The random source for a stored policy's jitter.
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/** The decision: run again after `delayMs`, or end `failed` or `cancelled`. */
export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; status: "failed" | "cancelled" };

/**
 * The handler's side of the decision, as {@linkcode FailOptions}: what the error's class and the
 * handler's strategy ask for. A task's own stored policy beats the handler's strategy.
 *
 * @example Usage
 * ```ts
 * import { failOptionsFor, PermanentError } from "@tasklite/tasklite";
 *
 * const task = { retryCount: 0, maxRetries: 3, retryPolicy: null, cancelRequestedAt: null };
 * console.log(failOptionsFor({ task, error: new PermanentError("bad input") })); // { retry: false }
 * ```
 *
 * @param input The task, the error and the handler's strategy.
 * @returns The options to record the failure with (`{}`: the queue decides).
 */
export function failOptionsFor(
  input: Pick<RetryInput, "task" | "error" | "strategy">,
): FailOptions {
  const { task, error, strategy } = input;
  if (error instanceof PermanentError) return { retry: false };
  if (error instanceof RetryableError && error.delayMs !== undefined) {
    return { retryDelayMs: error.delayMs };
  }
  if (task.retryPolicy || strategy === undefined) return {};
  const retryCount = task.retryCount + 1;
  const delay = typeof strategy === "function"
    ? strategy(retryCount, error, task as Task)
    : retryDelay(strategy, retryCount);
  return { retryDelayMs: Math.max(0, Math.round(delay)) };
}

/**
 * Decides what follows a failed attempt.
 *
 * @example Usage
 * ```ts
 * import { decideRetry } from "@tasklite/tasklite";
 *
 * const task = { retryCount: 0, maxRetries: 3, retryPolicy: null, cancelRequestedAt: null };
 * console.log(decideRetry({ task, backoff: (n) => n * 1000 })); // { retry: true, delayMs: 1000 }
 * console.log(decideRetry({ task: { ...task, retryCount: 3 }, backoff: () => 0 }));
 * // { retry: false, status: "failed" }
 * ```
 *
 * @param input The task, the error, the explicit choice, the strategy and the backoff.
 * @returns Retry after `delayMs`, or the final status.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { task } = input;
  if (task.cancelRequestedAt !== null) return { retry: false, status: "cancelled" };
  const retryCount = task.retryCount + 1;
  if (retryCount > task.maxRetries) return { retry: false, status: "failed" };
  const chosen = { ...failOptionsFor(input), ...input.options };
  if (chosen.retry === false) return { retry: false, status: "failed" };
  const delay = chosen.retryDelayMs ??
    (task.retryPolicy
      ? retryDelay(task.retryPolicy, retryCount, input.random)
      : input.backoff(retryCount));
  return { retry: true, delayMs: Math.max(0, Math.round(delay)) };
}
