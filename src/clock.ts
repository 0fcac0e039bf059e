/**
 * The one clock of a queue and its workers: `now()` for timestamps, `sleep()` for every wait (poll
 * interval, heartbeat, timeout, stop grace, HTTP long poll), and optionally `monotonic()`, a time
 * that never jumps, against which the queue notices its wall clock jumping. Tests inject a clock
 * they move by hand instead of sleeping.
 *
 * Every process sharing a queue's file writes its own `now()` into shared rows (due times, leases),
 * so their clocks must agree within the queue's `clockToleranceMs`.
 *
 * @module
 */

/**
 * A source of time, in epoch milliseconds, and of waits measured on it.
 *
 * @example A clock that runs ten times faster than the wall
 * ```ts
 * import type { Clock } from "@tasklite/tasklite";
 *
 * const start = Date.now();
 * const fast: Clock = {
 *   now: () => start + (Date.now() - start) * 10,
 *   sleep: (ms, signal) =>
 *     new Promise((resolve) => {
 *       const timer = setTimeout(resolve, ms / 10);
 *       signal?.addEventListener("abort", () => {
 *         clearTimeout(timer);
 *         resolve();
 *       }, { once: true });
 *     }),
 * };
 * await fast.sleep(100);
 * ```
 */
export interface Clock {
  /** Now, in epoch milliseconds. */
  now(): number;
  /**
   * Resolves once `ms` milliseconds of this clock have passed, or at once when `signal` aborts
   * (it never rejects).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * A time in milliseconds that only moves forward at a steady rate, from any origin (such as
   * `performance.now()`). When present, the queue compares the progress of `now()` with it and
   * warns when the wall clock jumps.
   */
  monotonic?(): number;
}

/** Waits on the runtime's timers. */
function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The wall clock: `Date.now()`, the runtime's timers, and `performance.now()` as its monotonic
 * time.
 *
 * @example Usage
 * ```ts
 * import { systemClock } from "@tasklite/tasklite";
 *
 * const before = systemClock.now();
 * await systemClock.sleep(1);
 * console.log(systemClock.now() >= before); // true
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: timerSleep,
  monotonic: () => performance.now(),
};

/**
 * A {@linkcode Clock} from what a caller passed: a clock, a bare `() => number` (its waits use the
 * runtime's timers), or nothing (the wall clock).
 *
 * @example Usage
 * ```ts
 * import { toClock } from "@tasklite/tasklite";
 *
 * const clock = toClock(() => 42);
 * console.log(clock.now()); // 42
 * ```
 *
 * @param clock A clock, a function returning epoch ms, or `undefined`.
 * @returns The clock.
 */
export function toClock(clock: Clock | (() => number) | undefined): Clock {
  if (clock === undefined) return systemClock;
  if (typeof clock === "function") return { now: clock, sleep: timerSleep };
  return clock;
}
