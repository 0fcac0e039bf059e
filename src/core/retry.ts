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
 * A lease that expired (the worker died, so no one is left to ask) gets the same decision without
 * an error or a strategy: `recoveryRetryAt` (`recovery.ts`), which the engine calls under its lock.
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

/**
 * The decision: run again after `delayMs`, or end `failed` or `cancelled`. A task that ends
 * `failed` because its backoff gave no usable delay says why in `reason` (recorded with its
 * error).
 */
export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; status: "failed" | "cancelled"; reason?: string };

/**
 * The longest retry delay, 365 days: a longer (finite) one waits this long.
 *
 * @example Usage
 * ```ts
 * import { MAX_RETRY_DELAY_MS, retryDelayFrom } from "@tasklite/tasklite";
 *
 * console.log(retryDelayFrom(1e300, "the backoff") === MAX_RETRY_DELAY_MS); // true
 * ```
 */
export const MAX_RETRY_DELAY_MS = 365 * 86_400_000;

/**
 * A delay that a backoff or a retry strategy returned, made usable: a negative one is 0, a
 * fraction is rounded, a finite one longer than {@linkcode MAX_RETRY_DELAY_MS} is that. Anything
 * else (`NaN`, `Infinity`, a string) is a bug in the curve, and no delay at all.
 *
 * @example Usage
 * ```ts
 * import { retryDelayFrom } from "@tasklite/tasklite";
 *
 * console.log(retryDelayFrom(-5, "the backoff")); // 0
 * try {
 *   retryDelayFrom(NaN, "the backoff");
 * } catch (error) {
 *   console.log((error as RangeError).message);
 *   // "the backoff returned NaN, not a finite number of ms"
 * }
 * ```
 *
 * @param delay What the curve returned.
 * @param source Who returned it, for the message.
 * @returns The delay in whole ms, from 0 to {@linkcode MAX_RETRY_DELAY_MS}.
 * @throws {RangeError} The delay is not a finite number.
 */
export function retryDelayFrom(delay: unknown, source: string): number {
  if (typeof delay !== "number" || !Number.isFinite(delay)) {
    const shown = typeof delay === "string" ? JSON.stringify(delay) : describe(delay);
    throw new RangeError(`${source} returned ${shown}, not a finite number of ms`);
  }
  return delay <= 0 ? 0 : Math.min(MAX_RETRY_DELAY_MS, Math.round(delay));
}

/** `instanceof`, false for a Proxy whose `getPrototypeOf` trap throws. */
function isA<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

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
 * @throws {RangeError} The handler's strategy returned no usable delay (see
 * {@linkcode retryDelayFrom}); a worker then fails the task for good, saying why.
 */
export function failOptionsFor(
  input: Pick<RetryInput, "task" | "error" | "strategy">,
): FailOptions {
  const { task, error, strategy } = input;
  if (isA(error, PermanentError)) return { retry: false };
  if (isA(error, RetryableError) && error.delayMs !== undefined) {
    return { retryDelayMs: error.delayMs };
  }
  if (task.retryPolicy || strategy === undefined) return {};
  const retryCount = task.retryCount + 1;
  const delay = typeof strategy === "function"
    ? strategy(retryCount, error, task as Task)
    : retryDelay(strategy, retryCount);
  return { retryDelayMs: retryDelayFrom(delay, "the retry strategy") };
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
 * @returns Retry after `delayMs` (0 to {@linkcode MAX_RETRY_DELAY_MS}), or the final status; a
 * delay that is not a finite number fails the task, with the `reason`.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { task } = input;
  if (task.cancelRequestedAt !== null) return { retry: false, status: "cancelled" };
  const retryCount = task.retryCount + 1;
  if (retryCount > task.maxRetries) return { retry: false, status: "failed" };
  let chosen: FailOptions;
  try {
    chosen = { ...failOptionsFor(input), ...input.options };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error; // a strategy that gave no usable delay
    return { retry: false, status: "failed", reason: error.message };
  }
  if (chosen.retry === false) return { retry: false, status: "failed" };
  const [delay, source] = chosen.retryDelayMs !== undefined
    ? [chosen.retryDelayMs, "the retry delay"]
    : task.retryPolicy
    ? [retryDelay(task.retryPolicy, retryCount, input.random), "the task's retry policy"]
    : [input.backoff(retryCount), "the queue's backoff"];
  try {
    return { retry: true, delayMs: retryDelayFrom(delay, source) };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { retry: false, status: "failed", reason: error.message };
  }
}
