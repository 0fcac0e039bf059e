/**
 * Numbered schema migrations for the PostgreSQL engine, written against the schema named `$S`
 * (quoted and substituted when applied). Applied in order, once, at open, under an advisory lock;
 * recorded in `$S.tasklite_migrations`. A migration that has shipped is never edited: change the
 * schema by adding the next number.
 *
 * @module
 */

import type { Migration } from "../sqlite/_migrations.ts";

export type { Migration };

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create tasks, counts, controls, rate events, schedules",
    sql: `
-- Times are epoch ms (bigint). JSON columns are text: the queue stores JSON.stringify's text as
-- it is, and decodes it as the SQLite engine does. An identity never gives an id twice.
CREATE TABLE $S.tasks (
  id                  bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text    NOT NULL,
  task_type           text    NOT NULL,
  payload             text    NOT NULL,
  priority            integer NOT NULL CHECK (priority BETWEEN 1 AND 4),
  status              text    NOT NULL CHECK (status IN ('pending', 'running', 'completed',
                      'failed', 'cancelled')),
  result              text,
  error               text,
  retry_count         integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
  max_retries         integer NOT NULL CHECK (max_retries >= 0),
  attempts            integer NOT NULL DEFAULT 0,
  unique_key          text,
  created_at          bigint  NOT NULL,
  scheduled_at        bigint  NOT NULL,
  started_at          bigint,
  completed_at        bigint,
  failed_at           bigint,
  worker_id           text,
  lease_ms            bigint,
  lease_expires_at    bigint,
  timeout_ms          bigint,
  retry_policy        text,
  progress            text,
  errors              text    NOT NULL DEFAULT '[]',
  cancel_requested_at bigint
);
-- claims: pending rows only, in claim order.
CREATE INDEX tasks_dequeue_idx ON $S.tasks (priority DESC, scheduled_at, id)
  WHERE status = 'pending';
-- recovery, running counts and lists: running rows only, by lease expiry.
CREATE INDEX tasks_lease_idx ON $S.tasks (lease_expires_at) WHERE status = 'running';
-- retention and lists of finished tasks.
CREATE INDEX tasks_finished_idx ON $S.tasks (status, completed_at)
  WHERE status IN ('completed', 'failed', 'cancelled');
-- idempotent enqueue: one live task per key.
CREATE UNIQUE INDEX tasks_unique_key_idx ON $S.tasks (unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');
-- finished counts, kept by the engine in the transaction of each change.
CREATE TABLE $S.task_counts (status text PRIMARY KEY, count bigint NOT NULL);
INSERT INTO $S.task_counts (status, count) VALUES ('completed', 0), ('failed', 0), ('cancelled', 0);
-- pause flags and limits per task type ('*' is the whole queue), shared by every process.
CREATE TABLE $S.task_type_controls (
  task_type       text PRIMARY KEY,
  paused_at       bigint,
  max_concurrency integer CHECK (max_concurrency > 0),
  rate_max        integer CHECK (rate_max > 0),
  rate_window_ms  bigint  CHECK (rate_window_ms > 0)
);
-- claims of rate-limited types inside their window.
CREATE TABLE $S.rate_events (task_type text NOT NULL, claimed_at bigint NOT NULL);
CREATE INDEX rate_events_idx ON $S.rate_events (task_type, claimed_at);
CREATE TABLE $S.schedules (
  name         text PRIMARY KEY,
  cron         text    NOT NULL,
  timezone     text,
  task_type    text    NOT NULL,
  task_name    text    NOT NULL,
  payload      text    NOT NULL,
  priority     integer NOT NULL CHECK (priority BETWEEN 1 AND 4),
  max_retries  integer NOT NULL CHECK (max_retries >= 0),
  timeout_ms   bigint,
  next_run_at  bigint,
  last_run_at  bigint,
  last_task_id bigint,
  paused       boolean NOT NULL DEFAULT false,
  created_at   bigint  NOT NULL,
  updated_at   bigint  NOT NULL
);
CREATE INDEX schedules_due_idx ON $S.schedules (next_run_at) WHERE NOT paused;
-- A failure's entry appended to the error history (text); a history that is not a JSON array
-- (written behind the queue's back, or damaged) starts anew, so that a failure still records.
CREATE FUNCTION $S.tasklite_append_error(history text, entry text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE parsed json;
BEGIN
  IF history = '[]' THEN RETURN '[' || entry || ']'; END IF;
  BEGIN
    parsed := history::json;
  EXCEPTION WHEN others THEN
    RETURN '[' || entry || ']';
  END;
  IF json_typeof(parsed) <> 'array' OR json_array_length(parsed) = 0 THEN
    RETURN '[' || entry || ']';
  END IF;
  RETURN left(rtrim(history), -1) || ',' || entry || ']';
END $fn$;
`,
  },
  {
    version: 2,
    name: "concurrency keys: a key per task, limits per key, fair claims across keys",
    sql: `
-- A task's concurrency key (a tenant, an account): limits per key, claims rotated across keys.
ALTER TABLE $S.tasks ADD COLUMN concurrency_key text;
-- keyed pending rows by type and key, in claim order: the fair claim's seeks; keyless rows never
-- enter it.
CREATE INDEX tasks_key_idx ON $S.tasks (task_type, concurrency_key, priority DESC, scheduled_at, id)
  WHERE status = 'pending' AND concurrency_key IS NOT NULL;
-- keyed running rows: the running count per key, counted in the claim's transaction.
CREATE INDEX tasks_running_key_idx ON $S.tasks (task_type, concurrency_key)
  WHERE status = 'running' AND concurrency_key IS NOT NULL;
-- limits per key of a type, and the key the last fair claim of the type ended on.
ALTER TABLE $S.task_type_controls
  ADD COLUMN key_concurrency integer CHECK (key_concurrency > 0),
  ADD COLUMN key_rate_max integer CHECK (key_rate_max > 0),
  ADD COLUMN key_rate_window_ms bigint CHECK (key_rate_window_ms > 0),
  ADD COLUMN key_cursor text;
-- claims per key inside the key's rate window.
ALTER TABLE $S.rate_events ADD COLUMN concurrency_key text;
CREATE INDEX rate_events_key_idx ON $S.rate_events (task_type, concurrency_key, claimed_at)
  WHERE concurrency_key IS NOT NULL;
`,
  },
  {
    version: 3,
    name: "worker registry",
    sql: `
-- Each started Worker (in process or over HTTP): who it is and its last heartbeat.
CREATE TABLE $S.workers (
  id               text    PRIMARY KEY,
  host             text    NOT NULL,
  pid              integer,
  runtime          text    NOT NULL,
  task_types       text,
  concurrency      integer NOT NULL,
  started_at       bigint  NOT NULL,
  heartbeat_at     bigint  NOT NULL,
  beat_interval_ms bigint  NOT NULL
);
`,
  },
  {
    version: 4,
    name: "per-minute history buckets (finished attempts, wait and run histograms, backlog)",
    sql: `
-- One row per (minute, task type, kind): finished attempts (completed, failed, dead, cancelled),
-- written by the transitions in their own transaction (one upsert per batch), or a backlog sample
-- (pending, running) taken by upkeep once a minute. Histograms hold 32 counts on log-scale bins
-- (src/core/buckets.ts). Minute 0 holds what retention rolled up.
-- shard: the backend pid of the connection that wrote it, so that concurrent transactions (one per
-- connection) never wait on each other's bucket row; reads add the shards up.
CREATE TABLE $S.task_buckets (
  minute    bigint   NOT NULL,
  task_type text     NOT NULL,
  kind      text     NOT NULL,
  shard     integer  NOT NULL DEFAULT 0,
  count     bigint   NOT NULL,
  wait_bins bigint[] NOT NULL,
  run_bins  bigint[] NOT NULL,
  PRIMARY KEY (minute, task_type, kind, shard)
);
-- Two histograms added bin by bin (the shorter one padded with zeros).
CREATE FUNCTION $S.tasklite_add_bins(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
  FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$fn$;
-- The finished tasks already there count in the minute they finished in, without durations.
INSERT INTO $S.task_buckets (minute, task_type, kind, count, wait_bins, run_bins)
  SELECT (completed_at / 60000) * 60000, task_type,
    CASE status WHEN 'failed' THEN 'dead' ELSE status END, count(*), '{}', '{}'
  FROM $S.tasks
  WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at IS NOT NULL
  GROUP BY 1, 2, 3;
`,
  },
];
