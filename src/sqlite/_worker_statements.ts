/**
 * The SQL of the worker registry (`workers`) and of the reads `explain()` adds to the claim's
 * (running ids of a type, the claims inside each rate window), built once like the task statements
 * (`_statements.ts`, which merges these into `STATEMENTS`).
 *
 * @module
 */

import { sql } from "drizzle-orm";
import { compile, count, db, p, raw } from "./_sql.ts";
import { controls, rateEvents, tasks, workers } from "./schema.ts";

/** A worker's columns as `upsertWorker` writes them. */
const workerFields = {
  host: p("host"),
  pid: p("pid"),
  runtime: p("runtime"),
  taskTypes: p("taskTypes"),
  concurrency: p("concurrency"),
  startedAt: p("startedAt"),
  heartbeatAt: p("heartbeatAt"),
  beatIntervalMs: p("beatIntervalMs"),
};

/** The statements of the worker registry, by name. */
export const WORKER_STATEMENTS = {
  /** Records a worker, or replaces its row (a heartbeat). */
  upsertWorker: compile(
    db.insert(workers).values({ id: p("id"), ...workerFields })
      .onConflictDoUpdate({ target: workers.id, set: workerFields }),
  ),

  /** Removes a worker. */
  removeWorker: compile(db.delete(workers).where(sql`${workers.id} = ${p("id")}`)),

  /** Every worker, by id. */
  listWorkers: compile(db.select().from(workers).orderBy(workers.id)),

  /**
   * Ends now the leases held by the workers in `ids` (a JSON array), fenced like recovery: only
   * running tasks whose lease has not run out yet.
   */
  expireLeases: raw(
    sql`UPDATE ${tasks} INDEXED BY tasks_lease_idx SET lease_expires_at = ${p("now")}
      WHERE ${tasks.status} = 'running' AND ${tasks.leaseExpiresAt} > ${p("now")}
        AND ${tasks.workerId} IN (SELECT value FROM json_each(${p("ids")}))`,
  ),

  /** Forgets workers whose last beat is at or before `before`. */
  forgetWorkers: compile(db.delete(workers).where(sql`${workers.heartbeatAt} <= ${p("before")}`)),

  /** Running tasks of one type, newest claim first. */
  runningIds: raw(
    sql`SELECT ${tasks.id} AS id FROM ${tasks} INDEXED BY tasks_lease_idx
      WHERE ${tasks.status} = 'running' AND ${tasks.taskType} = ${p("taskType")}
      ORDER BY ${tasks.startedAt} DESC, ${tasks.id} DESC LIMIT ${count("limit")}`,
  ),

  /** Claims inside each rate-limited type's window, oldest first. */
  rateWindows: raw(
    sql`SELECT r.task_type AS task_type, c.rate_window_ms AS interval_ms, r.claimed_at AS claimed_at
      FROM ${rateEvents} r JOIN ${controls} c ON c.task_type = r.task_type
      WHERE c.rate_window_ms IS NOT NULL AND r.claimed_at > ${p("now")} - c.rate_window_ms
      ORDER BY r.task_type, r.claimed_at`,
  ),
} as const;
