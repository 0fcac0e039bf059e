/**
 * The SQL of the per-minute history (`task_buckets`, `src/core/buckets.ts`): the one upsert a
 * transaction's tally costs, the backlog sample, the reads and the roll-up retention does. Built
 * once like the task statements (`_statements.ts`, which merges these into `STATEMENTS`).
 *
 * @module
 */

import { sql } from "drizzle-orm";
import { BUCKET_OUTCOMES, HISTOGRAM_BINS } from "../core/buckets.ts";
import { p, raw } from "./_sql.ts";
import { taskBuckets } from "./schema.ts";

/** Two histograms added bin by bin (a missing bin counts 0). */
const merged = (column: string) =>
  sql.raw(`json_array(${
    Array.from(
      { length: HISTOGRAM_BINS },
      (_, i) => `coalesce(${column} ->> ${i}, 0) + coalesce(excluded.${column} ->> ${i}, 0)`,
    ).join(", ")
  })`);

/** The finished-attempt kinds, as an SQL list. */
const outcomes = sql.raw(BUCKET_OUTCOMES.map((kind) => `'${kind}'`).join(", "));

/** Rows of `[minute, taskType, kind, count, waitBins, runBins]` from a JSON array. */
const items = sql`SELECT item.value ->> 0, item.value ->> 1, item.value ->> 2, item.value ->> 3,
    item.value -> 4, item.value -> 5 FROM json_each(${p("items")}) AS item WHERE true`;

/** The statements of the history, by name. */
export const BUCKET_STATEMENTS = {
  /** Adds a transaction's tally: one row per (minute, type, kind), merged into what is there. */
  addBuckets: raw(
    sql`INSERT INTO ${taskBuckets} (minute, task_type, kind, count, wait_bins, run_bins) ${items}
      ON CONFLICT (minute, task_type, kind) DO UPDATE SET count = count + excluded.count,
        wait_bins = ${merged("wait_bins")}, run_bins = ${merged("run_bins")}`,
  ),

  /** A backlog sample for one minute, unless a process took that minute's sample already. */
  sampleBacklog: raw(
    sql`INSERT INTO ${taskBuckets} (minute, task_type, kind, count, wait_bins, run_bins)
      SELECT * FROM (${items}) WHERE NOT EXISTS (SELECT 1 FROM ${taskBuckets}
        WHERE minute = ${p("minute")} AND task_type = '*' AND kind = 'pending')
      ON CONFLICT (minute, task_type, kind) DO NOTHING`,
  ),

  /** Buckets of `since` and later, oldest first. */
  buckets: raw(
    sql`SELECT minute, task_type, kind, count, wait_bins, run_bins FROM ${taskBuckets}
      WHERE minute >= ${p("since")} ORDER BY minute, task_type, kind`,
  ),

  /** Finished attempts per type and outcome, over every bucket and the roll-up. */
  bucketTotals: raw(
    sql`SELECT task_type, kind, sum(count) AS count FROM ${taskBuckets}
      WHERE kind IN (${outcomes}) GROUP BY task_type, kind ORDER BY task_type, kind`,
  ),

  /** Adds the finished-attempt counts of buckets before `before` to the roll-up (minute 0). */
  rollUpBuckets: raw(
    sql`INSERT INTO ${taskBuckets} (minute, task_type, kind, count, wait_bins, run_bins)
      SELECT 0, task_type, kind, sum(count), '[]', '[]' FROM ${taskBuckets}
      WHERE minute > 0 AND minute < ${p("before")} AND kind IN (${outcomes})
      GROUP BY task_type, kind
      ON CONFLICT (minute, task_type, kind) DO UPDATE SET count = count + excluded.count`,
  ),

  /** Deletes the buckets before `before` (after the roll-up). */
  pruneBuckets: raw(
    sql`DELETE FROM ${taskBuckets} WHERE minute > 0 AND minute < ${p("before")}`,
  ),
};
