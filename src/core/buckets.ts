/**
 * Per-minute history buckets: what the transitions of one transaction add to the queue's history
 * (finished attempts per minute, task type and outcome, with log-scale histograms of their wait
 * and run times), and the percentiles read back from those histograms. Pure arithmetic; each
 * engine writes a batch's tally as one upsert statement in the transaction of the batch.
 *
 * @module
 */

import type { LiveCount } from "../engine.ts";
import type { Task } from "../task.ts";

/** The width of one bucket, in ms: one minute. */
export const BUCKET_MS = 60_000;

/**
 * What a finished attempt counts as, in the vocabulary of the queue's metrics: `completed`;
 * `failed`, an attempt that failed and will run again; `dead`, a task that ended failed;
 * `cancelled`.
 */
export const BUCKET_OUTCOMES = ["completed", "failed", "dead", "cancelled"] as const;

/** One of {@linkcode BUCKET_OUTCOMES}. */
export type BucketOutcome = typeof BUCKET_OUTCOMES[number];

/** Backlog samples, taken once a minute by upkeep: `pending` and `running` counts. */
export const BACKLOG_KINDS = ["pending", "running"] as const;

/** One of {@linkcode BACKLOG_KINDS}. */
export type BacklogKind = typeof BACKLOG_KINDS[number];

/** What a bucket row counts: finished attempts, or a backlog sample. */
export type BucketKind = BucketOutcome | BacklogKind;

/**
 * Histogram bins: bin 0 holds durations under 1 ms, bin `i` (1 to 30) those in
 * `[2^(i-1), 2^i)` ms, and bin 31 those of 2^30 ms (12.4 days) or more.
 */
export const HISTOGRAM_BINS = 32;

/** The backlog row that marks a sample (all task types together), even when nothing was live. */
export const ALL_TYPES = "*";

/** One stored bucket. */
export interface Bucket {
  /** The minute's start, epoch ms (a multiple of {@linkcode BUCKET_MS}; 0 for the roll-up). */
  minute: number;
  /** The task type ({@linkcode ALL_TYPES} for a backlog sample's total). */
  taskType: string;
  /** What it counts. */
  kind: BucketKind;
  /** How many attempts finished (or, for a backlog sample, how many tasks were live). */
  count: number;
  /** Wait times (due to claimed), {@linkcode HISTOGRAM_BINS} counts. */
  waitBins: number[];
  /** Run times (claimed to finished), {@linkcode HISTOGRAM_BINS} counts. */
  runBins: number[];
}

/** All-time finished attempts of one task type and outcome. */
export interface BucketTotal {
  /** The task type. */
  taskType: string;
  /** The outcome. */
  kind: BucketOutcome;
  /** How many, summed over every bucket (pruned ones are rolled up, not lost). */
  count: number;
}

/**
 * The bin a duration falls in.
 *
 * @example Usage
 * ```ts
 * import { binOf } from "./buckets.ts";
 *
 * console.log(binOf(0), binOf(1), binOf(3), binOf(1000)); // 0 1 2 10
 * ```
 *
 * @param ms A duration in ms (negative counts as 0).
 * @returns Its bin, 0 to {@linkcode HISTOGRAM_BINS} - 1.
 */
export function binOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(HISTOGRAM_BINS - 1, Math.floor(Math.log2(ms)) + 1);
}

/** A bin's range in ms: `[low, high)`. */
function binRange(bin: number): [number, number] {
  if (bin === 0) return [0, 1];
  return [2 ** (bin - 1), 2 ** bin];
}

/**
 * A quantile of a histogram, interpolated log-linearly inside its bin (so within a factor of 2
 * of the true value), or `null` when it holds no sample.
 *
 * @example Usage
 * ```ts
 * import { binOf, HISTOGRAM_BINS, quantile } from "./buckets.ts";
 *
 * const bins = new Array(HISTOGRAM_BINS).fill(0);
 * for (const ms of [10, 12, 14, 900]) bins[binOf(ms)]++;
 * console.log(Math.round(quantile(bins, 0.5)!)); // 12
 * ```
 *
 * @param bins {@linkcode HISTOGRAM_BINS} counts.
 * @param q The quantile, 0 to 1.
 * @returns The estimated duration in ms.
 */
export function quantile(bins: readonly number[], q: number): number | null {
  const total = bins.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(0, Math.min(1, q)) * total;
  let seen = 0;
  for (let bin = 0; bin < bins.length; bin++) {
    const n = bins[bin]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const [low, high] = binRange(bin);
      const within = (rank - seen) / n;
      return bin === 0 ? within * high : low * (high / low) ** within;
    }
    seen += n;
  }
  return binRange(bins.length - 1)[0];
}

/**
 * Adds histograms bin by bin.
 *
 * @example Usage
 * ```ts
 * import { addBins } from "./buckets.ts";
 *
 * console.log(addBins([1, 0], [2, 3])); // [3, 3]
 * ```
 *
 * @param a Counts.
 * @param b Counts of the same length.
 * @returns Their sum.
 */
export function addBins(a: readonly number[], b: readonly number[]): number[] {
  return a.map((n, i) => n + (b[i] ?? 0));
}

/** The outcome a task's new status means for the attempt that just ended, or `null`: none ended. */
function outcomeOf(task: Task, ran: boolean): BucketOutcome | null {
  switch (task.status) {
    case "completed":
      return "completed";
    case "failed":
      return "dead";
    case "cancelled":
      return "cancelled";
    case "pending":
      // Pending after an attempt that ran: it failed, and a retry is due.
      return ran ? "failed" : null;
    default:
      return null;
  }
}

/**
 * The tally of one transaction: the attempts it ended, grouped by minute, type and outcome, each
 * group one row of the engine's single upsert.
 *
 * @example Usage
 * ```ts ignore
 * const tally = new BucketTally();
 * tally.add(completedTask, now, true);
 * engine.upsertBuckets(tally.rows()); // one statement for the whole batch
 * ```
 */
export class BucketTally {
  readonly #groups = new Map<string, Bucket>();

  /** Whether nothing was added. */
  get empty(): boolean {
    return this.#groups.size === 0;
  }

  /**
   * Counts a task a transition just returned, if that transition ended an attempt.
   *
   * @param task The task as the transition left it.
   * @param now The transition's time, epoch ms.
   * @param ran Whether an attempt ran (a complete, fail or recovery), so that its times count; a
   * cancel of a pending task counts without them.
   */
  add(task: Task, now: number, ran: boolean): void {
    const kind = outcomeOf(task, ran);
    if (kind === null) return;
    const minute = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const key = minute + "\u0000" + task.taskType + "\u0000" + kind;
    let group = this.#groups.get(key);
    if (!group) {
      group = {
        minute,
        taskType: task.taskType,
        kind,
        count: 0,
        waitBins: new Array(HISTOGRAM_BINS).fill(0),
        runBins: new Array(HISTOGRAM_BINS).fill(0),
      };
      this.#groups.set(key, group);
    }
    group.count++;
    if (!ran || task.startedAt === null) return;
    group.runBins[binOf(now - task.startedAt)]!++;
    // A retried attempt's due time has moved on to its retry: its wait is not known any more.
    if (kind !== "failed" && task.scheduledAt <= task.startedAt) {
      group.waitBins[binOf(task.startedAt - task.scheduledAt)]!++;
    }
  }

  /**
   * The groups, and clears the tally. They come in one fixed order (by their key), so that concurrent
   * transactions lock the same rows in the same order (PostgreSQL: no deadlock between two
   * upserts).
   */
  take(): Bucket[] {
    const rows = [...this.#groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, row]) => row);
    this.#groups.clear();
    return rows;
  }
}

/**
 * A backlog sample's rows for `minute`: the totals over every type (always, even when zero, so
 * that the sample shows), then each type's live counts.
 *
 * @example Usage
 * ```ts
 * import { backlogRows } from "./buckets.ts";
 *
 * const rows = backlogRows(60_000, [{ taskType: "email", status: "pending", count: 3 }]);
 * console.log(rows.map((r) => `${r.taskType} ${r.kind} ${r.count}`));
 * // ["* pending 3", "* running 0", "email pending 3"]
 * ```
 *
 * @param minute The minute's start, epoch ms.
 * @param counts Pending and running counts per task type.
 * @returns The rows to store.
 */
export function backlogRows(minute: number, counts: readonly LiveCount[]): Bucket[] {
  const rows: Bucket[] = [];
  const row = (taskType: string, kind: BucketKind, count: number) =>
    rows.push({ minute, taskType, kind, count, waitBins: [], runBins: [] });
  for (const kind of BACKLOG_KINDS) {
    row(ALL_TYPES, kind, counts.filter((c) => c.status === kind).reduce((n, c) => n + c.count, 0));
  }
  for (const c of counts) {
    if (c.status === "pending" || c.status === "running") row(c.taskType, c.status, c.count);
  }
  return rows;
}

/**
 * Buckets as an engine's upsert takes them: JSON rows of
 * `[minute, taskType, kind, count, waitBins, runBins]`.
 *
 * @example Usage
 * ```ts
 * import { bucketItems } from "./buckets.ts";
 *
 * const rows = [{ minute: 0, taskType: "t", kind: "completed" as const, count: 1, waitBins: [], runBins: [1] }];
 * console.log(bucketItems(rows)); // [[0,"t","completed",1,[],[1]]]
 * ```
 *
 * @param rows The buckets.
 * @returns The JSON text.
 */
export function bucketItems(rows: readonly Bucket[]): string {
  return JSON.stringify(
    rows.map((b) => [b.minute, b.taskType, b.kind, b.count, b.waitBins, b.runBins]),
  );
}
