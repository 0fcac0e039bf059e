/**
 * The tables as drizzle sees them. The DDL that creates it lives in the numbered migrations
 * (`_migrations.ts`); a test checks that the two agree.
 *
 * @module
 */

import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The drizzle definition of the `tasks` table. */
export const tasks = sqliteTable("tasks", {
  id: integer("id").primaryKey(),
  name: text("name").notNull(),
  taskType: text("task_type").notNull(),
  payload: text("payload").notNull(),
  priority: integer("priority").notNull(),
  status: text("status").notNull(),
  result: text("result"),
  error: text("error"),
  retryCount: integer("retry_count").notNull(),
  maxRetries: integer("max_retries").notNull(),
  attempts: integer("attempts").notNull(),
  uniqueKey: text("unique_key"),
  createdAt: integer("created_at").notNull(),
  scheduledAt: integer("scheduled_at").notNull(),
  startedAt: integer("started_at"),
  completedAt: integer("completed_at"),
  failedAt: integer("failed_at"),
  workerId: text("worker_id"),
  leaseMs: integer("lease_ms"),
  leaseExpiresAt: integer("lease_expires_at"),
  timeoutMs: integer("timeout_ms"),
  retryPolicy: text("retry_policy"),
  progress: text("progress"),
  errors: text("errors").notNull(),
  cancelRequestedAt: integer("cancel_requested_at"),
  concurrencyKey: text("concurrency_key"),
});

/** Pause flags and limits per task type (`*` is the whole queue). */
export const controls = sqliteTable("task_type_controls", {
  taskType: text("task_type").primaryKey(),
  pausedAt: integer("paused_at"),
  maxConcurrency: integer("max_concurrency"),
  rateMax: integer("rate_max"),
  rateWindowMs: integer("rate_window_ms"),
  keyConcurrency: integer("key_concurrency"),
  keyRateMax: integer("key_rate_max"),
  keyRateWindowMs: integer("key_rate_window_ms"),
  keyCursor: text("key_cursor"),
});

/** Recent claims of rate-limited task types. */
export const rateEvents = sqliteTable("rate_events", {
  taskType: text("task_type").notNull(),
  claimedAt: integer("claimed_at").notNull(),
  concurrencyKey: text("concurrency_key"),
});

/** Recurring schedules. */
export const schedules = sqliteTable("schedules", {
  name: text("name").primaryKey(),
  cron: text("cron").notNull(),
  timezone: text("timezone"),
  taskType: text("task_type").notNull(),
  taskName: text("task_name").notNull(),
  payload: text("payload").notNull(),
  priority: integer("priority").notNull(),
  maxRetries: integer("max_retries").notNull(),
  timeoutMs: integer("timeout_ms"),
  nextRunAt: integer("next_run_at"),
  lastRunAt: integer("last_run_at"),
  lastTaskId: integer("last_task_id"),
  paused: integer("paused").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** How many tasks are in each finished status (kept by the engine with each change). */
export const taskCounts = sqliteTable("task_counts", {
  status: text("status").primaryKey(),
  count: integer("count").notNull(),
});

/** The engine's own settings: `id_floor`, the highest task id ever given before a prune. */
export const state = sqliteTable("tasklite_state", {
  key: text("key").primaryKey(),
  value: integer("value").notNull(),
});

/** The worker registry: each started worker and its last heartbeat. */
export const workers = sqliteTable("workers", {
  id: text("id").primaryKey(),
  host: text("host").notNull(),
  pid: integer("pid"),
  runtime: text("runtime").notNull(),
  taskTypes: text("task_types"),
  concurrency: integer("concurrency").notNull(),
  startedAt: integer("started_at").notNull(),
  heartbeatAt: integer("heartbeat_at").notNull(),
  beatIntervalMs: integer("beat_interval_ms").notNull(),
});

/**
 * Per-minute history: finished attempts by task type and outcome, with wait and run histograms
 * (JSON arrays), and backlog samples (`src/core/buckets.ts`).
 */
export const taskBuckets = sqliteTable("task_buckets", {
  minute: integer("minute").notNull(),
  taskType: text("task_type").notNull(),
  kind: text("kind").notNull(),
  count: integer("count").notNull(),
  waitBins: text("wait_bins").notNull(),
  runBins: text("run_bins").notNull(),
});
