/**
 * Numbered schema migrations for the SQLite engine. Applied in order, once, at open; recorded in
 * `tasklite_migrations`. A migration that has shipped is never edited: change the schema by adding
 * the next number.
 *
 * @module
 */

/** One schema step. */
export interface Migration {
  /** Position in the sequence, from 1, without gaps. */
  version: number;
  /** What it does. */
  name: string;
  /** The DDL, run inside the migration's transaction. */
  sql: string;
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create tasks",
    sql: `
CREATE TABLE tasks (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  name             TEXT    NOT NULL,
  task_type        TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
  status           TEXT    NOT NULL
                   CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  result           TEXT,
  error            TEXT,
  retry_count      INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
  max_retries      INTEGER NOT NULL CHECK (max_retries >= 0),
  attempts         INTEGER NOT NULL DEFAULT 0,
  unique_key       TEXT,
  created_at       INTEGER NOT NULL,
  scheduled_at     INTEGER NOT NULL,
  started_at       INTEGER,
  completed_at     INTEGER,
  failed_at        INTEGER,
  worker_id        TEXT,
  lease_ms         INTEGER,
  lease_expires_at INTEGER
);
-- dequeue: only pending rows, already in claim order; finished rows never enter it.
CREATE INDEX tasks_dequeue_idx ON tasks (priority DESC, scheduled_at, id) WHERE status = 'pending';
-- recover: only running rows, by lease expiry.
CREATE INDEX tasks_lease_idx ON tasks (lease_expires_at) WHERE status = 'running';
-- lists by status (newest first) and counts per status.
CREATE INDEX tasks_status_idx ON tasks (status, id);
-- idempotent enqueue: one live task per key.
CREATE UNIQUE INDEX tasks_unique_key_idx ON tasks (unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');
`,
  },
  {
    version: 2,
    name: "production workers: timeouts, progress, error history, controls, schedules",
    sql: `
ALTER TABLE tasks ADD COLUMN timeout_ms INTEGER;
ALTER TABLE tasks ADD COLUMN retry_policy TEXT;
ALTER TABLE tasks ADD COLUMN progress TEXT;
ALTER TABLE tasks ADD COLUMN errors TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN cancel_requested_at INTEGER;
-- retention: finished rows by age.
CREATE INDEX tasks_finished_idx ON tasks (completed_at)
  WHERE status IN ('completed', 'failed', 'cancelled');
-- pause flags and limits per task type ('*' is the whole queue), shared by every process.
CREATE TABLE task_type_controls (
  task_type       TEXT PRIMARY KEY,
  paused_at       INTEGER,
  max_concurrency INTEGER CHECK (max_concurrency > 0),
  rate_max        INTEGER CHECK (rate_max > 0),
  rate_window_ms  INTEGER CHECK (rate_window_ms > 0)
);
-- claims of rate-limited types inside their window (older ones are deleted as claims go).
CREATE TABLE rate_events (
  task_type  TEXT    NOT NULL,
  claimed_at INTEGER NOT NULL
);
CREATE INDEX rate_events_idx ON rate_events (task_type, claimed_at);
CREATE TABLE schedules (
  name         TEXT PRIMARY KEY,
  cron         TEXT    NOT NULL,
  timezone     TEXT,
  task_type    TEXT    NOT NULL,
  task_name    TEXT    NOT NULL,
  payload      TEXT    NOT NULL,
  priority     INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
  max_retries  INTEGER NOT NULL CHECK (max_retries >= 0),
  timeout_ms   INTEGER,
  next_run_at  INTEGER,
  last_run_at  INTEGER,
  last_task_id INTEGER,
  paused       INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE paused = 0;
`,
  },
];
