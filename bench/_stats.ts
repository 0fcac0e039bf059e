/**
 * What one measurement reports, and the small statistics the children and the report share.
 *
 * @module
 */

/** One measurement of one workload on one subject. */
export interface Measure {
  /** Jobs per second. */
  jobsPerSec?: number;
  /** Latency or lag percentiles, in ms. */
  p50Ms?: number;
  /** 99th percentile, in ms. */
  p99Ms?: number;
  /** The largest sample, in ms. */
  maxMs?: number;
  /** A duration in ms, for workloads that time one call (such as `getQueueStats`). */
  ms?: number;
  /** RSS (MB) early in a long run, for the flat-memory check. */
  rssFromMb?: number;
  /** RSS (MB) at the end of that run. */
  rssToMb?: number;
}

/** What a child prints: its measures (by workload id) and its peak RSS. */
export interface ChildReport {
  /** Measures by workload id (most children report one). */
  measures: Record<string, Measure>;
  /** Peak RSS of the child, in MB. */
  peakRssMb: number;
  /** A remark about how the subject ran (an adapter, a write-behind buffer). */
  note?: string;
}

/** The marker before the child's JSON line on stdout (peers may print their own lines). */
export const REPORT_MARKER = "@@bench-report ";

/** The `q` quantile (0..1) of `values`, by the nearest-rank method; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Jobs per second of `count` jobs in `ms`. */
export function rate(count: number, ms: number): number {
  return ms > 0 ? (count / ms) * 1000 : NaN;
}

/** p50, p99 and max of latency samples. */
export function latencyOf(samples: readonly number[]): Measure {
  return {
    p50Ms: quantile(samples, 0.5),
    p99Ms: quantile(samples, 0.99),
    maxMs: samples.length ? Math.max(...samples) : NaN,
  };
}
