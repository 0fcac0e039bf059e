/**
 * {@linkcode ClockWatch}: notices when the queue's clock cannot be trusted. Every process on a file
 * writes its own `now()` into shared rows (due times, leases), so a clock that jumps forward
 * schedules tasks hours ahead for everyone, and a clock behind the others claims nothing. Two
 * cheap checks, each reported once per incident:
 *
 * - a jump: between two reads, the wall clock moved more than `toleranceMs` further (or less far)
 *   than the clock's monotonic time (only for clocks that have one, such as `systemClock`);
 * - behind: the newest time another writer recorded is more than `toleranceMs` ahead (at open,
 *   and from `maintain()` at most once a minute).
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import { ClockSkewKind, type QueueEvents } from "./events.ts";

/** What was noticed: the payload of the `clock_skew` event. */
export type ClockSkew = QueueEvents["clock_skew"];

/** A queue's clock, read through the jump check. */
export class ClockWatch {
  /** The largest disagreement tolerated, in ms. */
  readonly toleranceMs: number;
  readonly #clock: Clock;
  readonly #report: (skew: ClockSkew) => void;
  #wall: number;
  #monotonic: number;
  /** Whether the clock is behind the other writers (an incident under way), as last checked. */
  #behind = false;
  #checkedAt = -Infinity;

  /**
   * Watches `clock`.
   *
   * @param clock The queue's clock.
   * @param toleranceMs The largest disagreement tolerated, in ms.
   * @param report Called once per incident.
   */
  constructor(clock: Clock, toleranceMs: number, report: (skew: ClockSkew) => void) {
    this.#clock = clock;
    this.toleranceMs = toleranceMs;
    this.#report = report;
    this.#wall = clock.now();
    this.#monotonic = clock.monotonic?.() ?? 0;
  }

  /** Now, on the clock; a jump since the last read is reported (and becomes the new baseline). */
  now(): number {
    const wall = this.#clock.now();
    if (this.#clock.monotonic === undefined) return wall;
    const monotonic = this.#clock.monotonic();
    const jump = (wall - this.#wall) - (monotonic - this.#monotonic);
    this.#wall = wall;
    this.#monotonic = monotonic;
    if (Math.abs(jump) > this.toleranceMs) {
      this.#report({
        kind: ClockSkewKind.JUMP,
        offsetMs: Math.round(jump),
        toleranceMs: this.toleranceMs,
      });
    }
    return wall;
  }

  /**
   * Compares `now` with the newest time a writer recorded, reporting a clock that is behind it.
   *
   * @param latest The newest recorded time, epoch ms, or `null` for empty storage.
   * @param now Now, on this clock.
   */
  checkWriters(latest: number | null, now: number): void {
    this.#checkedAt = now;
    const behind = latest !== null && latest - now > this.toleranceMs;
    const incident = behind && !this.#behind;
    this.#behind = behind;
    if (!incident) return;
    this.#report({
      kind: ClockSkewKind.BEHIND,
      offsetMs: Math.round(now - latest!),
      toleranceMs: this.toleranceMs,
    });
  }

  /**
   * Whether {@linkcode ClockWatch.checkWriters} is due again (a minute after the last check).
   *
   * @param now Now, on this clock.
   * @returns `true` when it is.
   */
  writersCheckDue(now: number): boolean {
    return !(now - this.#checkedAt < 60_000);
  }
}
