/**
 * One heartbeat loop per worker, however many tasks it runs: a run costs no timer of its own.
 *
 * The loop sleeps on the worker's clock for the shortest heartbeat interval among the running
 * tasks, then extends the lease of every run that would otherwise go a whole interval of its own
 * without a heartbeat before the next wake-up. Only slept durations count (never differences of
 * `clock.now()`), and a sleep cut short counts as whole: a lease may be extended early, never late.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Run } from "./_run.ts";

/** The heartbeat loop of one worker over its map of runs. */
export class Heartbeats {
  readonly #clock: Clock;
  readonly #runs: ReadonlyMap<number, Run>;
  readonly #beat: (run: Run) => unknown;
  /** The length of the current sleep (`Infinity`: no loop). */
  #period = Infinity;
  #sleeping: AbortController | null = null;

  /**
   * @param clock The worker's clock.
   * @param runs The worker's runs (the loop reads it; the worker adds and removes).
   * @param beat Extends one run's lease (it resets `run.sinceBeat`).
   */
  constructor(clock: Clock, runs: ReadonlyMap<number, Run>, beat: (run: Run) => unknown) {
    this.#clock = clock;
    this.#runs = runs;
    this.#beat = beat;
  }

  /**
   * A run was added to the map: starts the loop, or shortens its sleep if the run needs heartbeats
   * more often than the loop wakes.
   *
   * @param run The new run.
   */
  add(run: Run): void {
    if (run.every >= this.#period) return;
    if (this.#sleeping) this.#sleeping.abort();
    else void this.#loop();
  }

  /** Ends the loop's sleep: call it when no run is left, so that no timer outlives the work. */
  halt(): void {
    this.#sleeping?.abort();
  }

  /** The next sleep: the shortest interval of the runs (`Infinity` when none runs). */
  #plan(): number {
    let period = Infinity;
    for (const run of this.#runs.values()) if (run.every < period) period = run.every;
    return period;
  }

  async #loop(): Promise<void> {
    let period = this.#plan();
    try {
      while (period < Infinity) {
        this.#period = period;
        const sleeping = (this.#sleeping = new AbortController());
        await this.#clock.sleep(period, sleeping.signal);
        const next = this.#plan();
        for (const run of this.#runs.values()) {
          run.sinceBeat += period;
          if (run.sinceBeat + next > run.every) void this.#beat(run);
        }
        period = next;
      }
    } finally {
      this.#period = Infinity;
      this.#sleeping = null;
    }
  }
}
