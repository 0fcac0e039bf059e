/**
 * Rows of the PostgreSQL engine's tables as the queue's records. Its `bigint` columns arrive as
 * numbers from the engine's own client and as strings from a caller's: both become numbers here,
 * then a task row decodes as the SQLite engine's does (`../sqlite/_rows.ts`: JSON text parsed,
 * an undecodable row marked, never a throw).
 *
 * @module
 */

import type { Bucket, BucketKind } from "../core/buckets.ts";
import type { SqliteRow } from "../drivers/driver.ts";
import type { Schedule, TypeControl } from "../engine.ts";
import type { Task, TaskPriority } from "../task.ts";
import { toTask as decodeTask, withChanges as decodeChanges } from "../sqlite/_rows.ts";

/** A row as postgres.js returns it. */
export type PgRow = Record<string, unknown>;

/** The `bigint` columns of `tasks` (and the few of `schedules`), turned into numbers. */
const BIGINTS = [
  "id",
  "created_at",
  "scheduled_at",
  "started_at",
  "completed_at",
  "failed_at",
  "lease_ms",
  "lease_expires_at",
  "timeout_ms",
  "cancel_requested_at",
] as const;

/** `value` as a number (`null` stays `null`). */
export function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function numeric(row: PgRow): SqliteRow {
  const out = { ...row } as Record<string, unknown>;
  for (const column of BIGINTS) if (column in out) out[column] = num(out[column]);
  return out as SqliteRow;
}

/** A task row as a {@linkcode Task}; never throws. */
export function toTask(row: PgRow): Task {
  return decodeTask(numeric(row));
}

/** `known` with the fields a fenced transition changed taken from `row`. */
export function withChanges(known: Task, row: PgRow): Task {
  return decodeChanges(known, numeric(row));
}

/** A `task_type_controls` row. */
export function toControl(row: PgRow): TypeControl {
  return {
    taskType: row.task_type as string,
    pausedAt: num(row.paused_at),
    concurrency: num(row.max_concurrency),
    rate: row.rate_max === null
      ? null
      : { max: Number(row.rate_max), intervalMs: Number(row.rate_window_ms) },
    concurrencyPerKey: num(row.key_concurrency),
    ratePerKey: row.key_rate_max === null || row.key_rate_max === undefined
      ? null
      : { max: Number(row.key_rate_max), intervalMs: Number(row.key_rate_window_ms) },
  };
}

/** A `schedules` row. */
export function toSchedule(row: PgRow): Schedule {
  return {
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string | null,
    taskType: row.task_type as string,
    taskName: row.task_name as string,
    payload: JSON.parse(row.payload as string),
    priority: Number(row.priority) as TaskPriority,
    maxRetries: Number(row.max_retries),
    timeoutMs: num(row.timeout_ms),
    nextRunAt: num(row.next_run_at),
    lastRunAt: num(row.last_run_at),
    lastTaskId: num(row.last_task_id),
    paused: row.paused === true,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** A `task_buckets` row (its `bigint[]` histograms as numbers). */
export function toBucket(row: PgRow): Bucket {
  const bins = (value: unknown) => (Array.isArray(value) ? value.map(Number) : []);
  return {
    minute: Number(row.minute),
    taskType: String(row.task_type),
    kind: row.kind as BucketKind,
    count: Number(row.count),
    waitBins: bins(row.wait_bins),
    runBins: bins(row.run_bins),
  };
}
