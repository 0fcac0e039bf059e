/**
 * The SQL of the worker registry (`workers`) and of the reads `explain()` adds to the claim's, on
 * PostgreSQL, as postgres.js tagged templates.
 *
 * @module
 */

import type { WorkerRecord } from "../engine.ts";
import type { On } from "./_statements.ts";

/** Records a worker, or replaces its row (a heartbeat). */
export const upsertWorker = ({ db, t }: On, w: WorkerRecord) =>
  db`INSERT INTO ${t.workers} (id, host, pid, runtime, task_types, concurrency, started_at,
      heartbeat_at, beat_interval_ms)
    VALUES (${w.id}, ${w.host}, ${w.pid}::int4, ${w.runtime},
      ${w.taskTypes === null ? null : JSON.stringify(w.taskTypes)}::text, ${w.concurrency}::int4,
      ${w.startedAt}::int8, ${w.heartbeatAt}::int8, ${w.beatIntervalMs}::int8)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
      runtime = excluded.runtime, task_types = excluded.task_types,
      concurrency = excluded.concurrency, started_at = excluded.started_at,
      heartbeat_at = excluded.heartbeat_at, beat_interval_ms = excluded.beat_interval_ms`;

/** Removes a worker. */
export const removeWorker = ({ db, t }: On, id: string) =>
  db`DELETE FROM ${t.workers} WHERE id = ${id}`;

/** Every worker, by id. */
export const listWorkers = ({ db, t }: On) =>
  db`SELECT * FROM ${t.workers} ORDER BY id COLLATE "C"`;

/** Ends now the leases these workers hold (running tasks whose lease has not run out yet). */
export const expireLeases = ({ db, t }: On, ids: readonly string[], now: number) =>
  db`UPDATE ${t.tasks} SET lease_expires_at = ${now}::int8
    WHERE status = 'running' AND lease_expires_at > ${now}::int8
      AND worker_id = ANY(${ids as string[]}::text[])`;

/** Forgets workers whose last beat is at or before `before`. */
export const forgetWorkers = ({ db, t }: On, before: number) =>
  db`DELETE FROM ${t.workers} WHERE heartbeat_at <= ${before}::int8`;

/** Running tasks of one type, newest claim first. */
export const runningIds = ({ db, t }: On, taskType: string, limit: number) =>
  db`SELECT id FROM ${t.tasks} WHERE status = 'running' AND task_type = ${taskType}
    ORDER BY started_at DESC, id DESC LIMIT ${limit}::int4`;

/** Claims inside each rate-limited type's window, oldest first. */
export const rateWindows = ({ db, t }: On, now: number) =>
  db`SELECT r.task_type, c.rate_window_ms AS interval_ms, r.claimed_at
    FROM ${t.rateEvents} r JOIN ${t.controls} c ON c.task_type = r.task_type
    WHERE c.rate_window_ms IS NOT NULL AND r.claimed_at > ${now}::int8 - c.rate_window_ms
    ORDER BY r.task_type COLLATE "C", r.claimed_at`;
