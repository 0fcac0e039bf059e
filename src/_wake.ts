/**
 * Sleeping until woken: the poll sleep of a worker and of an HTTP long poll, on the queue's clock,
 * ended early by a notification.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/**
 * A sleep on a clock that {@linkcode WakeableSleep.wake} ends early. A wake-up that comes while
 * nobody sleeps is kept: the next sleep returns at once, so a notification that arrives between a
 * claim and the sleep after it is not lost.
 *
 * It is on the hot path (a worker sleeps after every claim that fills its slots), so a sleep costs
 * one promise: the clock's timer is armed once and outlives the sleeps that a wake-up ends, which
 * means a sleep may end before its `ms` (at the timer armed by an earlier sleep), never after, as
 * long as every sleep asks for the same `ms` (both users do: a poll interval, a re-claim period).
 * {@linkcode WakeableSleep.close} disarms it.
 */
export class WakeableSleep {
  readonly #clock: Clock;
  /** The armed timer: aborting it disarms it. */
  #timer: AbortController | null = null;
  #waiter: (() => void) | null = null;
  #pending = false;

  /** @param clock The clock to sleep on. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Ends the current sleep, or the next one if nobody sleeps. */
  wake(): void {
    if (this.#waiter) this.#release();
    else this.#pending = true;
  }

  /**
   * Sleeps at most `ms` on the clock, until woken, or until `signal` aborts.
   *
   * @param ms The longest sleep.
   * @param signal Ends the sleep early too.
   * @returns When the sleep ends (it never rejects).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending || signal?.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    if (this.#timer === null) {
      const timer = (this.#timer = new AbortController());
      void this.#clock.sleep(ms, timer.signal).then(() => {
        if (this.#timer !== timer) return; // disarmed
        this.#timer = null;
        this.#release(); // a timer that fires while nobody sleeps is not kept
      });
    }
    return new Promise((resolve) => {
      if (!signal) {
        this.#waiter = resolve;
        return;
      }
      const done = () => {
        signal.removeEventListener("abort", done);
        if (this.#waiter === done) this.#waiter = null;
        resolve();
      };
      this.#waiter = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Disarms the timer and ends the current sleep: no timer outlives the sleeper. */
  close(): void {
    this.#timer?.abort();
    this.#timer = null;
    this.#pending = false;
    if (this.#waiter) this.#release();
  }

  #release(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }
}

/**
 * Whether a notification about `notified` task types concerns a consumer of `wanted` ones.
 *
 * @param notified The notified types (empty: any type).
 * @param wanted The types consumed (`undefined`: every type).
 * @returns `true` when the consumer should look.
 */
export function concerns(
  notified: readonly string[],
  wanted: ReadonlySet<string> | readonly string[] | undefined,
): boolean {
  if (wanted === undefined || notified.length === 0) return true;
  const has = "has" in wanted
    ? (type: string) => wanted.has(type)
    : (type: string) => wanted.includes(type);
  return notified.some(has);
}
