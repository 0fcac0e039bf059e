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
 */
export class WakeableSleep {
  readonly #clock: Clock;
  #sleeping: AbortController | null = null;
  #pending = false;

  /** @param clock The clock to sleep on. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Ends the current sleep, or the next one if nobody sleeps. */
  wake(): void {
    if (this.#sleeping) this.#sleeping.abort();
    else this.#pending = true;
  }

  /**
   * Sleeps `ms` on the clock, until woken, or until `signal` aborts.
   *
   * @param ms The longest sleep.
   * @param signal Ends the sleep early too.
   */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending || signal?.aborted) {
      this.#pending = false;
      return;
    }
    const sleeping = (this.#sleeping = new AbortController());
    const abort = () => sleeping.abort();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      await this.#clock.sleep(ms, sleeping.signal);
    } finally {
      signal?.removeEventListener("abort", abort);
      if (this.#sleeping === sleeping) this.#sleeping = null;
    }
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
