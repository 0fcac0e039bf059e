/**
 * Builds {@linkcode QueueHistory} from the engine's buckets: steps filled with zeros, backlog from
 * the last sample of each step, percentiles from the merged histograms. Pure.
 *
 * @module
 */

import {
  addBins,
  ALL_TYPES,
  type Bucket,
  BUCKET_MS,
  BUCKET_OUTCOMES,
  type BucketTotal,
  HISTOGRAM_BINS,
  quantile,
} from "./core/buckets.ts";
import type {
  DurationPercentiles,
  HistoryPoint,
  QueueHistory,
  TypeHistory,
  TypeTotals,
} from "./history.ts";

/** Where the history's window lies. */
export interface HistoryWindow {
  /** The queue's now, epoch ms. */
  now: number;
  /** How far back, ms. */
  windowMs: number;
  /** Step width, ms (a multiple of a minute). */
  stepMs: number;
}

/** The first minute a window of `windowMs` ending with the current minute holds. */
export function windowStart({ now, windowMs, stepMs }: HistoryWindow): number {
  const end = Math.floor(now / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
  const steps = Math.max(1, Math.ceil(windowMs / stepMs));
  return end - steps * stepMs;
}

function percentiles(bins: readonly number[]): DurationPercentiles {
  return {
    count: bins.reduce((sum, n) => sum + n, 0),
    p50: quantile(bins, 0.5),
    p90: quantile(bins, 0.9),
    p99: quantile(bins, 0.99),
  };
}

/** The history of `window` from its buckets (those of its minutes) and the all-time totals. */
export function buildHistory(
  buckets: readonly Bucket[],
  totals: readonly BucketTotal[],
  window: HistoryWindow,
): QueueHistory {
  const from = windowStart(window);
  const to = Math.floor(window.now / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
  const { stepMs } = window;
  const points: HistoryPoint[] = [];
  for (let at = from; at < to; at += stepMs) {
    points.push({
      at,
      completed: 0,
      failed: 0,
      dead: 0,
      cancelled: 0,
      pending: null,
      running: null,
    });
  }
  const sampledAt: number[] = points.map(() => -1);
  const zero = () => new Array<number>(HISTOGRAM_BINS).fill(0);
  const types = new Map<string, TypeHistory & { wait: number[]; run: number[] }>();
  for (const b of buckets) {
    if (b.minute < from || b.minute >= to) continue;
    const index = Math.floor((b.minute - from) / stepMs);
    const point = points[index]!;
    if (b.kind === "pending" || b.kind === "running") {
      // The step's last sample, of every type together.
      if (b.taskType !== ALL_TYPES || b.minute < sampledAt[index]!) continue;
      sampledAt[index] = b.minute;
      point[b.kind] = b.count;
      continue;
    }
    point[b.kind] += b.count;
    let type = types.get(b.taskType);
    if (!type) {
      type = {
        taskType: b.taskType,
        completed: 0,
        failed: 0,
        dead: 0,
        cancelled: 0,
        waitMs: percentiles([]),
        runMs: percentiles([]),
        wait: zero(),
        run: zero(),
      };
      types.set(b.taskType, type);
    }
    type[b.kind] += b.count;
    type.wait = addBins(type.wait, b.waitBins);
    type.run = addBins(type.run, b.runBins);
  }
  const byType = new Map<string, TypeTotals>();
  for (const total of totals) {
    let entry = byType.get(total.taskType);
    if (!entry) {
      entry = {
        taskType: total.taskType,
        counts: Object.fromEntries(BUCKET_OUTCOMES.map((k) => [k, 0])) as TypeTotals["counts"],
      };
      byType.set(total.taskType, entry);
    }
    entry.counts[total.kind] += total.count;
  }
  const byName = <T extends { taskType: string }>(a: T, b: T) =>
    a.taskType < b.taskType ? -1 : a.taskType > b.taskType ? 1 : 0;
  return {
    from,
    to,
    stepMs,
    points,
    types: [...types.values()].map(({ wait, run, ...type }) => ({
      ...type,
      waitMs: percentiles(wait),
      runMs: percentiles(run),
    })).sort(byName),
    totals: [...byType.values()].sort(byName),
  };
}
