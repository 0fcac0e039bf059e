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
  {
    version: 3,
    name: "lean tasks: no AUTOINCREMENT, no index on every row's status, finished counts kept",
    sql: `
-- Rebuilt without AUTOINCREMENT (its sequence row was one more page written per insert) and with
-- OR chains instead of IN lists (cheaper to check on every write). Same columns, same rows.
CREATE TABLE tasks_v3 (
  id               INTEGER PRIMARY KEY,
  name             TEXT    NOT NULL,
  task_type        TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
  status           TEXT    NOT NULL CHECK (status = 'pending' OR status = 'running'
                   OR status = 'completed' OR status = 'failed' OR status = 'cancelled'),
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
  lease_expires_at INTEGER,
  timeout_ms       INTEGER,
  retry_policy     TEXT,
  progress         TEXT,
  errors           TEXT    NOT NULL DEFAULT '[]',
  cancel_requested_at INTEGER
);
INSERT INTO tasks_v3 (
  id, name, task_type, payload, priority, status,
  result, error, retry_count, max_retries, attempts, unique_key,
  created_at, scheduled_at, started_at, completed_at, failed_at, worker_id,
  lease_ms, lease_expires_at, timeout_ms, retry_policy, progress, errors,
  cancel_requested_at)
SELECT
  id, name, task_type, payload, priority, status,
  result, error, retry_count, max_retries, attempts, unique_key,
  created_at, scheduled_at, started_at, completed_at, failed_at, worker_id,
  lease_ms, lease_expires_at, timeout_ms, retry_policy, progress, errors,
  cancel_requested_at
FROM tasks;
-- Ids are never reused: an insert takes max(max(id), id_floor) + 1, and pruning raises the floor
-- to the highest id before it deletes. It starts at the highest id AUTOINCREMENT ever gave.
CREATE TABLE tasklite_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO tasklite_state (key, value) VALUES ('id_floor', coalesce(
  (SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), (SELECT max(id) FROM tasks), 0));
DROP TABLE tasks;
ALTER TABLE tasks_v3 RENAME TO tasks;
-- claim order over pending rows only; task_type makes it covering for typed claims and counts.
CREATE INDEX tasks_dequeue_idx ON tasks (priority DESC, scheduled_at, id, task_type)
  WHERE status = 'pending';
-- recovery, and running counts and lists: running rows only, by lease expiry.
CREATE INDEX tasks_lease_idx ON tasks (lease_expires_at) WHERE status = 'running';
-- finished rows by status and finish time: retention, lists of finished tasks.
CREATE INDEX tasks_finished_idx ON tasks (status, completed_at)
  WHERE status = 'completed' OR status = 'failed' OR status = 'cancelled';
-- idempotent enqueue: one live task per key.
CREATE UNIQUE INDEX tasks_unique_key_idx ON tasks (unique_key)
  WHERE unique_key IS NOT NULL AND (status = 'pending' OR status = 'running');
-- Finished counts, kept by the engine in the transaction of each change (one statement per status
-- a batch touched, where a trigger would run once per row), so that stats never count finished
-- rows one by one.
CREATE TABLE task_counts (status TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO task_counts (status, count)
  SELECT s.value, (SELECT count(*) FROM tasks WHERE status = s.value)
  FROM json_each('["completed","failed","cancelled"]') AS s;
-- A finished row written straight into the table (a backdated fixture, an import) is counted too;
-- the queue's own inserts are pending and skip it.
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks WHEN NEW.status <> 'pending' BEGIN
  UPDATE task_counts SET count = count + 1 WHERE status = NEW.status;
END;
`,
  },
  {
    version: 4,
    name: "concurrency keys: a key per task, limits per key, fair claims across keys",
    sql: `
-- A task's concurrency key (a tenant, an account): limits per key, claims rotated across keys.
ALTER TABLE tasks ADD COLUMN concurrency_key TEXT;
-- keyed pending rows by type and key, in claim order: the fair claim's seeks (the next key after
-- the rotation's cursor, a key's first due tasks); keyless rows never enter it.
CREATE INDEX tasks_key_idx ON tasks (task_type, concurrency_key, priority DESC, scheduled_at, id)
  WHERE status = 'pending' AND concurrency_key IS NOT NULL;
-- keyed running rows: the running count per key, counted in the claim's transaction.
CREATE INDEX tasks_running_key_idx ON tasks (task_type, concurrency_key)
  WHERE status = 'running' AND concurrency_key IS NOT NULL;
-- limits per key of a type, and the key the last fair claim of the type ended on.
ALTER TABLE task_type_controls ADD COLUMN key_concurrency INTEGER CHECK (key_concurrency > 0);
ALTER TABLE task_type_controls ADD COLUMN key_rate_max INTEGER CHECK (key_rate_max > 0);
ALTER TABLE task_type_controls ADD COLUMN key_rate_window_ms INTEGER
  CHECK (key_rate_window_ms > 0);
ALTER TABLE task_type_controls ADD COLUMN key_cursor TEXT;
-- claims per key inside the key's rate window.
ALTER TABLE rate_events ADD COLUMN concurrency_key TEXT;
CREATE INDEX rate_events_key_idx ON rate_events (task_type, concurrency_key, claimed_at)
  WHERE concurrency_key IS NOT NULL;
`,
  },
  {
    version: 5,
    name: "worker registry",
    sql: `
-- Each started Worker (in process or over HTTP): who it is and its last heartbeat. Tiny: one row
-- per live (or recently dead) worker, read whole.
CREATE TABLE workers (
  id               TEXT    PRIMARY KEY,
  host             TEXT    NOT NULL,
  pid              INTEGER,
  runtime          TEXT    NOT NULL,
  task_types       TEXT,
  concurrency      INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  heartbeat_at     INTEGER NOT NULL,
  beat_interval_ms INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 6,
    name: "per-minute history buckets (finished attempts, wait and run histograms, backlog)",
    sql: `
-- One row per (minute, task type, kind): finished attempts (completed, failed, dead, cancelled),
-- written by the transitions in their own transaction (one upsert per batch), or a backlog sample
-- (pending, running) taken by upkeep once a minute. Histograms are JSON arrays of 32 counts on
-- log-scale bins (src/core/buckets.ts). Minute 0 holds what retention rolled up.
CREATE TABLE task_buckets (
  minute    INTEGER NOT NULL,
  task_type TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  count     INTEGER NOT NULL,
  wait_bins TEXT    NOT NULL,
  run_bins  TEXT    NOT NULL,
  PRIMARY KEY (minute, task_type, kind)
) WITHOUT ROWID;
-- The finished tasks already there count in the minute they finished in, without durations.
INSERT INTO task_buckets (minute, task_type, kind, count, wait_bins, run_bins)
  SELECT (completed_at / 60000) * 60000, task_type,
    CASE status WHEN 'failed' THEN 'dead' ELSE status END, count(*), '[]', '[]'
  FROM tasks INDEXED BY tasks_finished_idx
  WHERE (status = 'completed' OR status = 'failed' OR status = 'cancelled')
    AND completed_at IS NOT NULL
  GROUP BY 1, 2, 3;
`,
  },
];
