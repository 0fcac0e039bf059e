/**
 * The timers of a worker's runs, heartbeats and timeouts, as one loop per worker: a run costs no
 * timer of its own (this is the hot path).
 *
 * The loop sleeps on the worker's clock until the soonest heartbeat or timeout among the running
 * tasks, then charges the time slept to every run: a whole sleep counts its full length (so a
 * clock whose `now()` stands still while its sleeps pass, such as a bare `() => number` made into
 * a clock, still times out), and the part of a sleep that a run was not there for, or a sleep cut
 * short, counts what `now()` says (clamped to the sleep). A timeout therefore never fires early;
 * heartbeats due within a quarter of their interval are sent together, so that runs started at
 * different times share wake-ups.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Run } from "./_run.ts";

/** What the loop does when a run's time comes. */
export interface TimerActions {
  /** Extends the run's lease (and resets `run.untilBeat`). */
  beat(run: Run): unknown;
  /**
   * The run's time limit passed: aborts it, or, if its attempt already ended (a lost lease, a
   * cancel) and its handler still runs, stops waiting for that handler.
   */
  timeout(run: Run): void;
}

const clamp = (value: number, max: number) => value < 0 ? 0 : value > max ? max : value;

/** The timer loop of one worker over its map of runs. */
export class RunTimers {
  readonly #clock: Clock;
  readonly #runs: { values(): Iterable<Run> };
  readonly #actions: TimerActions;
  /** The current sleep: aborting it cuts it short (`null`: no loop). */
  #sleeping: AbortController | null = null;
  /** Counts sleeps; a run joined during sleep `#epoch` if its `epoch` equals it. */
  #epoch = 0;
  #period = 0;
  #sleptFrom = 0;

  /**
   * @param clock The worker's clock.
   * @param runs The worker's runs (the loop reads them; the worker adds and removes).
   * @param actions What to do when a heartbeat or a timeout is due.
   */
  constructor(clock: Clock, runs: { values(): Iterable<Run> }, actions: TimerActions) {
    this.#clock = clock;
    this.#runs = runs;
    this.#actions = actions;
  }

  /**
   * A run was added to the map: starts the loop, or cuts its sleep short if the run is due
   * before the loop would wake.
   *
   * @param run The new run.
   */
  add(run: Run): void {
    run.epoch = this.#epoch;
    const sleeping = this.#sleeping;
    if (sleeping === null) {
      void this.#loop();
      return;
    }
    const now = (run.joinedAt = this.#clock.now());
    const left = this.#period - clamp(now - this.#sleptFrom, this.#period);
    if (Math.min(run.untilBeat, run.untilTimeout) < left) sleeping.abort();
  }

  /** Cuts the loop's sleep short: call it when no run is left, so that no timer outlives them. */
  halt(): void {
    this.#sleeping?.abort();
  }

  /** The next sleep: until the soonest heartbeat or timeout (`Infinity` when nothing is due). */
  #plan(): number {
    let period = Infinity;
    for (const run of this.#runs.values()) {
      if (run.settled) continue; // an attempt that ended keeps its time limit until its handler settles
      if (!run.over && run.untilBeat < period) period = run.untilBeat;
      if (run.untilTimeout < period) period = run.untilTimeout;
    }
    return period < 0 ? 0 : period;
  }

  async #loop(): Promise<void> {
    try {
      for (let period = this.#plan(); period < Infinity; period = this.#plan()) {
        const sleeping = (this.#sleeping = new AbortController());
        const epoch = ++this.#epoch;
        const from = (this.#sleptFrom = this.#clock.now());
        this.#period = period;
        await this.#clock.sleep(period, sleeping.signal);
        const now = this.#clock.now();
        const slept = sleeping.signal.aborted ? clamp(now - from, period) : period;
        for (const run of this.#runs.values()) {
          if (run.settled) continue;
          const charged = run.epoch < epoch ? slept : clamp(now - run.joinedAt, slept);
          run.epoch = epoch;
          run.untilTimeout -= charged;
          run.untilBeat -= charged;
          if (run.untilTimeout <= 0) {
            run.untilTimeout = Infinity;
            this.#actions.timeout(run);
          } else if (!run.over && run.untilBeat <= run.every / 4) {
            run.untilBeat = run.every;
            void this.#actions.beat(run);
          }
        }
      }
    } finally {
      this.#sleeping = null;
    }
  }
}
