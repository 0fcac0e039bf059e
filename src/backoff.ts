/**
 * Retry delays: how long a failed task waits before its next attempt.
 *
 * @module
 */

import type { RetryPolicy } from "./task.ts";

/** Options of {@linkcode exponentialBackoff}. */
export interface BackoffOptions {
  /**
   * The delay before the first retry, in milliseconds.
   *
   * @default {1000}
   */
  baseMs?: number;
  /**
   * Each further retry waits this many times longer.
   *
   * @default {2}
   */
  factor?: number;
  /**
   * The longest delay, in milliseconds.
   *
   * @default {3_600_000}
   */
  maxMs?: number;
  /**
   * The share of each delay that is random, from 0 (none) to 1 (anywhere between 0 and the delay).
   * Jitter spreads out retries of tasks that failed together.
   *
   * @default {0.5}
   */
  jitter?: number;
  /**
   * The random source, returning a number in [0, 1).
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/**
 * Exponential backoff with jitter: `min(maxMs, baseMs * factor ** (retryCount - 1))`, less a random
 * share of up to `jitter` of it.
 *
 * @example Usage
 * ```ts
 * import { exponentialBackoff } from "@tasklite/tasklite";
 *
 * const delay = exponentialBackoff({ baseMs: 100, jitter: 0 });
 * console.log(delay(1), delay(2), delay(3)); // 100 200 400
 * ```
 *
 * @param options The curve.
 * @returns The delay in milliseconds for a task that has failed `retryCount` times.
 */
export function exponentialBackoff(options: BackoffOptions = {}): (retryCount: number) => number {
  const { baseMs = 1000, factor = 2, maxMs = 3_600_000, jitter = 0.5, random = Math.random } =
    options;
  for (const [name, value] of Object.entries({ baseMs, factor, maxMs })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Invalid backoff: ${name} must be a finite number >= 0, got ${value}`);
    }
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`Invalid backoff: jitter must be between 0 and 1, got ${jitter}`);
  }
  return (retryCount) => {
    const delay = Math.min(maxMs, baseMs * factor ** Math.max(0, retryCount - 1));
    return Math.round(delay * (1 - jitter * random()));
  };
}

/**
 * The delay a {@linkcode RetryPolicy} gives before the next attempt.
 *
 * @example Usage
 * ```ts
 * import { retryDelay } from "@tasklite/tasklite";
 *
 * console.log(retryDelay({ type: "fixed", delayMs: 5000 }, 3)); // 5000
 * console.log(retryDelay({ type: "exponential", baseMs: 100, jitter: 0 }, 3)); // 400
 * ```
 *
 * @param policy The policy.
 * @param retryCount Failed attempts so far (1 after the first failure).
 * @param random The random source for jitter.
 * @returns The delay in milliseconds.
 */
export function retryDelay(
  policy: RetryPolicy,
  retryCount: number,
  random: () => number = Math.random,
): number {
  if (policy.type === "fixed") return policy.delayMs;
  const { baseMs, factor, maxMs, jitter } = policy;
  return exponentialBackoff({
    random,
    ...(baseMs === undefined ? {} : { baseMs }),
    ...(factor === undefined ? {} : { factor }),
    ...(maxMs === undefined ? {} : { maxMs }),
    ...(jitter === undefined ? {} : { jitter }),
  })(retryCount);
}
