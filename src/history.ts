/**
 * The queue over time, as {@linkcode TaskQueue.history} returns it: per-step throughput and
 * backlog, wait and run-time percentiles per task type, and all-time counts per type. Built from
 * the per-minute buckets every process's transitions keep in the queue's storage, so it survives
 * restarts and covers every process sharing the queue.
 *
 * @module
 */

import type { BucketOutcome } from "./core/buckets.ts";

/** Options of {@linkcode TaskQueue.history}. */
export interface HistoryOptions {
  /**
   * How far back, in ms (at most 7 days).
   *
   * @default {3_600_000}
   */
  windowMs?: number | undefined;
  /**
   * The width of one point, in ms: a whole number of minutes, at most the window.
   *
   * @default {60_000}
   */
  stepMs?: number | undefined;
}

/** One step of the history. */
export interface HistoryPoint {
  /** The step's start, epoch ms. */
  at: number;
  /** Attempts that completed in the step. */
  completed: number;
  /** Attempts that failed and will run again. */
  failed: number;
  /** Tasks that ended failed (no retries left). */
  dead: number;
  /** Tasks cancelled. */
  cancelled: number;
  /** Pending tasks at the step's last backlog sample, or `null` when none was taken. */
  pending: number | null;
  /** Running tasks at that sample, or `null`. */
  running: number | null;
}

/** Estimated percentiles of durations (within a factor of 2: log-scale histograms). */
export interface DurationPercentiles {
  /** How many durations were recorded. */
  count: number;
  /** Median, ms, or `null` without samples. */
  p50: number | null;
  /** 90th percentile, ms, or `null`. */
  p90: number | null;
  /** 99th percentile, ms, or `null`. */
  p99: number | null;
}

/** One task type over the window. */
export interface TypeHistory {
  /** The task type. */
  taskType: string;
  /** Attempts that completed in the window. */
  completed: number;
  /** Attempts that failed and will run again. */
  failed: number;
  /** Tasks that ended failed. */
  dead: number;
  /** Tasks cancelled. */
  cancelled: number;
  /** Due to claimed, for attempts that finished in the window. */
  waitMs: DurationPercentiles;
  /** Claimed to finished. */
  runMs: DurationPercentiles;
}

/** All-time counts of one task type, by outcome (finished attempts since the history began). */
export interface TypeTotals {
  /** The task type. */
  taskType: string;
  /** Count per outcome: `completed`, `failed`, `dead`, `cancelled`. */
  counts: Record<BucketOutcome, number>;
}

/** What {@linkcode TaskQueue.history} returns. */
export interface QueueHistory {
  /** The first step's start, epoch ms. */
  from: number;
  /** The end of the last step, epoch ms (the end of the current minute). */
  to: number;
  /** The width of a step, ms. */
  stepMs: number;
  /** Every step of the window, oldest first (steps with nothing recorded count zero). */
  points: HistoryPoint[];
  /** Each task type that finished attempts in the window, by name. */
  types: TypeHistory[];
  /** Each task type that ever finished an attempt, by name, with all-time counts. */
  totals: TypeTotals[];
}
