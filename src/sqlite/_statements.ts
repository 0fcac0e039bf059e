/**
 * Every SQL statement of the SQLite engine that moves tasks, built once by drizzle from the schema
 * and prepared once per connection (`_control_statements.ts` holds those of pauses, limits and
 * schedules, `_claim_statements.ts` the claim's; `_sql.ts` the builder).
 *
 * Status literals are written inline (not bound) so that SQLite can use the partial indexes, and
 * the claim, recovery, counts, lists and pruning name their index (`INDEXED BY`): without
 * statistics the planner might rather walk the table.
 *
 * @module
 */

import { type SQL, sql } from "drizzle-orm";
import type { SqliteRow, SqliteValue } from "../drivers/driver.ts";
import { TaskPriority } from "../task.ts";
import { BUCKET_STATEMENTS } from "./_bucket_statements.ts";
import { CLAIM_STATEMENTS } from "./_claim_statements.ts";
import { CONTROL_STATEMENTS } from "./_control_statements.ts";
import { WORKER_STATEMENTS } from "./_worker_statements.ts";
import { FAIR_STATEMENTS } from "./_fair_statements.ts";
import { compile, type Compiled, count, db, p, raw } from "./_sql.ts";
import { schedules, state, taskCounts, tasks } from "./schema.ts";

export type { Compiled };

// Written as the partial indexes' predicates are (OR chains, same order), so that the planner sees
// that a query's condition implies an index's.
const live = sql`(${tasks.status} = 'pending' OR ${tasks.status} = 'running')`;
const finished = sql`(${tasks.status} = 'completed' OR ${tasks.status} = 'failed'
  OR ${tasks.status} = 'cancelled')`;
const fenced = sql`${tasks.id} = ${p("id")} AND (${p("attempts")} IS NULL OR ${tasks.attempts} = ${
  p("attempts")
})`;
const running = sql`${tasks.status} = 'running'`;

/** The error history, or a new one when the stored one is not JSON (so a failure still records). */
const history = sql`CASE WHEN json_valid(${tasks.errors}) THEN ${tasks.errors} ELSE '[]' END`;

/** Appends `{ attempt, error, at }` to the task's error history. */
const appendError = (error: SQL) =>
  sql`json_insert(${history}, '$[#]', json_object('attempt', ${tasks.attempts}, 'error', ${error}, 'at', ${
    p("now")
  }))`;

const leaseError = sql`'Lease expired after ' || ${tasks.leaseMs} || ' ms (worker '
  || coalesce(${tasks.workerId}, 'unknown') || ' did not complete or heartbeat)'`;

/**
 * The columns a lease-fenced transition can change, which it returns: the others (payload, name,
 * type, priority, …) are as the task was enqueued, and the engine takes them from the caller's copy.
 */
const changeable = {
  status: tasks.status,
  result: tasks.result,
  error: tasks.error,
  retryCount: tasks.retryCount,
  attempts: tasks.attempts,
  scheduledAt: tasks.scheduledAt,
  startedAt: tasks.startedAt,
  completedAt: tasks.completedAt,
  failedAt: tasks.failedAt,
  workerId: tasks.workerId,
  leaseMs: tasks.leaseMs,
  leaseExpiresAt: tasks.leaseExpiresAt,
  progress: tasks.progress,
  errors: tasks.errors,
  cancelRequestedAt: tasks.cancelRequestedAt,
};

/**
 * What a failed attempt writes, with the core's decision: pending again at `retryAt`, or `failed`
 * when it is `null`; `cancelled` either way when a cancel was asked while it ran (cancel wins).
 */
const failedAttempt = (error: SQL) => ({
  status: sql`CASE WHEN ${tasks.cancelRequestedAt} IS NOT NULL THEN 'cancelled'
    WHEN ${p("retryAt")} IS NULL THEN 'failed' ELSE 'pending' END`,
  retryCount: sql`${tasks.retryCount} + 1`,
  error,
  errors: appendError(error),
  failedAt: p("now"),
  scheduledAt: sql`CASE WHEN ${tasks.cancelRequestedAt} IS NULL AND ${p("retryAt")} IS NOT NULL
    THEN ${p("retryAt")} ELSE ${tasks.scheduledAt} END`,
  completedAt: sql`CASE WHEN ${tasks.cancelRequestedAt} IS NOT NULL OR ${p("retryAt")} IS NULL
    THEN ${p("now")} ELSE NULL END`,
  leaseExpiresAt: null,
});

/** The earliest pending due time, per priority so that each is one seek in the dequeue index. */
const earliestPending = sql.join(
  Object.values(TaskPriority).map((priority) =>
    sql`SELECT min(${tasks.scheduledAt}) AS at FROM ${tasks} INDEXED BY tasks_dequeue_idx
      WHERE ${tasks.status} = 'pending' AND ${tasks.priority} = ${sql.raw(String(priority))}`
  ),
  sql` UNION ALL `,
);

/** Which rows a list reads, through which index, in which order. */
export const LISTED = {
  pending: {
    // The claim's order (the index's): the next to run first.
    from: sql`${tasks} INDEXED BY tasks_dequeue_idx`,
    where: sql`${tasks.status} = 'pending'`,
    order: sql`${tasks.priority} DESC, ${tasks.scheduledAt}, ${tasks.id}`,
  },
  running: {
    from: sql`${tasks} INDEXED BY tasks_lease_idx`,
    where: running,
    order: sql`${tasks.id} DESC`,
  },
  finished: {
    from: sql`${tasks} INDEXED BY tasks_finished_idx`,
    where: sql`${tasks.status} = ${p("status")} AND ${finished}`,
    order: sql`${tasks.completedAt} DESC, ${tasks.id} DESC`,
  },
};

/**
 * Tasks of one status (and an extra condition), paged, each list through its own partial index so
 * that no list reads the rows of another status: pending tasks in the claim's order (highest
 * priority, then earliest due, then lowest id), running ones newest first, finished ones most
 * recently finished first.
 */
function listWhere(rows: keyof typeof LISTED, condition: SQL): Compiled {
  const { from, where, order } = LISTED[rows];
  return raw(
    sql`SELECT * FROM ${from} WHERE ${where} ${condition}
      ORDER BY ${order} LIMIT ${count("limit")} OFFSET ${count("offset")}`,
  );
}

/**
 * The next task id: one more than both the highest id in the table and the floor pruning leaves,
 * so that no id is ever given twice.
 */
const nextId = sql`max(coalesce((SELECT max(${tasks.id}) FROM ${tasks}), 0),
  coalesce((SELECT ${state.value} FROM ${state} WHERE ${state.key} = 'id_floor'), 0)) + 1`;

/**
 * How many keyless tasks one {@linkcode insertRows} statement takes: the sizes, largest first. Ten
 * parameters a task keep a statement under a Durable Object's limit of 100 bound parameters.
 */
export const ROW_CHUNKS = [8, 4] as const;

/**
 * Inserts `count` keyless pending tasks in one statement (a multi-row `VALUES`: about half the cost
 * per row of one statement each). Binds, per task in order: id, name, task type, payload,
 * priority, max retries, created at, scheduled at, timeout, retry policy.
 */
export function insertRows(count: number): string {
  const row = "(?, ?, ?, ?, ?, 'pending', 0, ?, 0, ?, ?, ?, ?, ?, '[]')";
  return `INSERT INTO tasks (id, name, task_type, payload, priority, status, retry_count,
    max_retries, attempts, created_at, scheduled_at, timeout_ms, retry_policy, concurrency_key,
    errors)
    VALUES ${Array.from({ length: count }, () => row).join(", ")}`;
}

/** The statements, by transition (and those of controls and schedules). */
export const STATEMENTS = {
  ...CONTROL_STATEMENTS,
  ...CLAIM_STATEMENTS,
  ...WORKER_STATEMENTS,
  ...BUCKET_STATEMENTS,
  ...FAIR_STATEMENTS,
  /**
   * Inserts one pending task (its id: `nextId`); returns nothing when its unique key is live
   * already.
   */
  insert: compile(
    db.insert(tasks).values({
      id: nextId,
      name: p("name"),
      taskType: p("taskType"),
      payload: p("payload"),
      priority: p("priority"),
      status: sql`'pending'`,
      retryCount: 0,
      maxRetries: p("maxRetries"),
      attempts: 0,
      uniqueKey: p("uniqueKey"),
      createdAt: p("now"),
      scheduledAt: p("scheduledAt"),
      timeoutMs: p("timeoutMs"),
      retryPolicy: p("retryPolicy"),
      concurrencyKey: p("concurrencyKey"),
      errors: sql`'[]'`,
    }).onConflictDoNothing().returning({ id: tasks.id }),
  ),

  /** The id the next insert takes. */
  nextId: raw(sql`SELECT ${nextId} AS id`),

  /** The live task holding a unique key. */
  findLiveByKey: compile(
    db.select({ id: tasks.id }).from(tasks).where(
      sql`${tasks.uniqueKey} = ${p("uniqueKey")} AND ${live}`,
    ),
  ),

  /**
   * Running tasks whose lease ran out (the recovery's read: one seek in the lease index, which
   * finds nothing on the hot path).
   */
  expired: raw(
    sql`SELECT * FROM ${tasks} INDEXED BY tasks_lease_idx
      WHERE ${running} AND ${tasks.leaseExpiresAt} <= ${p("now")}`,
  ),

  /**
   * An expired lease, with the core's decision (`retryAt`, as for a failed attempt): one failed
   * attempt, recorded as the lease's expiry; fenced by the lease that expired, so a task
   * heartbeated, finished or claimed again meanwhile is left alone.
   */
  recover: compile(
    db.update(tasks).set(failedAttempt(leaseError)).where(
      sql`${fenced} AND ${running} AND ${tasks.leaseExpiresAt} <= ${p("now")}`,
    ).returning(changeable),
  ),

  /** Running tasks per type, for concurrency limits and metrics. */
  runningByType: raw(
    sql`SELECT ${tasks.taskType}, count(*) AS count FROM ${tasks} INDEXED BY tasks_lease_idx
      WHERE ${running} GROUP BY ${tasks.taskType}`,
  ),

  /** Live tasks per type and status, for metrics (each status from its own index). */
  liveByType: raw(
    sql`SELECT ${tasks.taskType}, 'pending' AS status, count(*) AS count
      FROM ${tasks} INDEXED BY tasks_dequeue_idx WHERE ${tasks.status} = 'pending'
      GROUP BY ${tasks.taskType}
      UNION ALL SELECT ${tasks.taskType}, 'running', count(*) FROM ${tasks} INDEXED BY tasks_lease_idx
      WHERE ${running} GROUP BY ${tasks.taskType}`,
  ),

  /** Extends a running task's lease, fenced by its token when one is given. */
  heartbeat: compile(
    db.update(tasks).set({ leaseExpiresAt: sql`${p("now")} + ${tasks.leaseMs}` })
      .where(sql`${fenced} AND ${running}`).returning(changeable),
  ),

  /** Records a running task's progress. */
  progress: compile(
    db.update(tasks).set({ progress: p("progress") }).where(sql`${fenced} AND ${running}`)
      .returning(changeable),
  ),

  /** Running → completed. */
  complete: compile(
    db.update(tasks).set({
      status: sql`'completed'`,
      result: p("result"),
      completedAt: p("now"),
      leaseExpiresAt: null,
    }).where(sql`${fenced} AND ${running}`).returning(changeable),
  ),

  /**
   * Running → completed for many tasks in one statement: `items` is a JSON array of
   * `[id, attempts or null, result as JSON text]`, each fenced on its own. Returns the id and
   * what changed of each task that matched.
   */
  completeAll: raw(
    sql`UPDATE ${tasks} SET status = 'completed', result = item.value ->> 2,
        completed_at = ${p("now")}, lease_expires_at = NULL
      FROM json_each(${p("items")}) AS item
      WHERE tasks.id = item.value ->> 0
        AND (item.value ->> 1 IS NULL OR tasks.attempts = item.value ->> 1)
        AND tasks.status = 'running'
      RETURNING ${
      sql.raw(
        ["id", ...Object.values(changeable).map((column) => column.name)]
          .map((name) => `tasks.${name}`).join(", "),
      )
    }`,
  ),

  /**
   * A failed attempt, with the core's decision: pending again at `retryAt`, or `failed` when it is
   * `null`; `cancelled` either way when a cancel was asked while it ran (cancel wins).
   */
  fail: compile(
    db.update(tasks).set(failedAttempt(p("error"))).where(sql`${fenced} AND ${running}`)
      .returning(changeable),
  ),

  /**
   * A task just claimed whose row cannot be decoded (a JSON column that does not parse): failed
   * for good with the reason (`error`), one failed attempt, never handed to a worker.
   */
  failUndecodable: compile(
    db.update(tasks).set({
      status: sql`'failed'`,
      retryCount: sql`${tasks.retryCount} + 1`,
      error: p("error"),
      errors: appendError(p("error")),
      failedAt: p("now"),
      completedAt: p("now"),
      leaseExpiresAt: null,
    }).where(sql`${tasks.id} = ${p("id")} AND ${running}`),
  ),

  /** Running → pending, due now, no attempt counted: a claim given back. */
  release: compile(
    db.update(tasks).set({ status: sql`'pending'`, scheduledAt: p("now"), leaseExpiresAt: null })
      .where(sql`${fenced} AND ${running}`).returning(changeable),
  ),

  /** Pending → cancelled; running → marked for cancellation (its worker aborts it). */
  cancel: compile(
    db.update(tasks).set({
      status: sql`CASE WHEN ${tasks.status} = 'pending' THEN 'cancelled' ELSE ${tasks.status} END`,
      completedAt: sql`CASE WHEN ${tasks.status} = 'pending' THEN ${p("now")}
        ELSE ${tasks.completedAt} END`,
      cancelRequestedAt: sql`CASE WHEN ${tasks.status} = 'running'
        THEN coalesce(${tasks.cancelRequestedAt}, ${p("now")}) ELSE ${tasks.cancelRequestedAt} END`,
    }).where(sql`${tasks.id} = ${p("id")} AND ${live}`).returning(),
  ),

  /** A pending task due later → due now (it keeps its priority; its place is by due time). */
  promote: compile(
    db.update(tasks).set({ scheduledAt: p("now") })
      .where(sql`${tasks.id} = ${p("id")} AND ${tasks.status} = 'pending'
        AND ${tasks.scheduledAt} > ${p("now")}`).returning(),
  ),

  /** Of these running task ids (a JSON array), the ones asked to cancel. */
  cancelRequested: compile(
    db.select({ id: tasks.id }).from(tasks).where(
      sql`${tasks.id} IN (SELECT value FROM json_each(${p("ids")}))
        AND ${tasks.cancelRequestedAt} IS NOT NULL`,
    ),
  ),

  /**
   * Failed or cancelled → pending, retries reset (a redrive); not while another live task holds
   * its unique key.
   */
  retry: compile(
    db.update(tasks).set({
      status: sql`'pending'`,
      retryCount: 0,
      scheduledAt: p("now"),
      completedAt: null,
      result: null,
      cancelRequestedAt: null,
    }).where(sql`${tasks.id} = ${p("id")} AND ${tasks.status} IN ('failed', 'cancelled')
      AND (${tasks.uniqueKey} IS NULL OR NOT EXISTS (
        SELECT 1 FROM ${tasks} AS holder WHERE holder.unique_key = ${tasks.uniqueKey}
          AND holder.unique_key IS NOT NULL
          AND (holder.status = 'pending' OR holder.status = 'running')))`)
      .returning(),
  ),

  /** Failed tasks (of a type, or all) that could be redriven. */
  failedIds: raw(
    sql`SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_finished_idx
      WHERE ${tasks.status} = 'failed' AND ${finished}
        AND (${p("taskType")} IS NULL OR ${tasks.taskType} = ${p("taskType")})
      ORDER BY ${tasks.completedAt}, ${tasks.id} LIMIT ${count("limit")}`,
  ),

  /** Adds `delta` to a finished status's count. */
  addCount: raw(
    sql`UPDATE ${taskCounts} SET count = count + ${p("delta")} WHERE ${taskCounts.status} = ${
      p("status")
    }`,
  ),

  /** Raises the id floor to the highest id, before pruning may delete it. */
  raiseIdFloor: raw(
    sql`UPDATE ${state} SET value = max(value, coalesce((SELECT max(${tasks.id}) FROM ${tasks}), 0))
      WHERE ${state.key} = 'id_floor'`,
  ),

  /** Deletes tasks of one finished status older than `before`, oldest first, at most `limit`. */
  prune: compile(
    db.delete(tasks).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_finished_idx
      WHERE ${tasks.status} = ${p("status")} AND ${finished} AND ${tasks.completedAt} <= ${
      p("before")
    }
      ORDER BY ${tasks.completedAt} LIMIT ${count("limit")})`),
  ),

  /** One task by id. */
  get: compile(db.select().from(tasks).where(sql`${tasks.id} = ${p("id")}`)),

  /**
   * Counts per status: live ones from their partial indexes, finished ones from `task_counts`
   * (no finished row is read).
   */
  stats: raw(
    sql`SELECT 'pending' AS status, count(*) AS count FROM ${tasks} INDEXED BY tasks_dequeue_idx
        WHERE ${tasks.status} = 'pending'
      UNION ALL SELECT 'running', count(*) FROM ${tasks} INDEXED BY tasks_lease_idx WHERE ${running}
      UNION ALL SELECT ${taskCounts.status}, ${taskCounts.count} FROM ${taskCounts}`,
  ),

  /** Lists, by status (see `listWhere`); filtered and sorted ones are built by `_list.ts`. */
  listPending: listWhere("pending", sql``),
  listRunning: listWhere("running", sql``),
  listFinished: listWhere("finished", sql``),

  /**
   * The newest time a writer recorded: the newest task's creation, the latest claim or heartbeat
   * of a running task (its lease expiry less its lease), the latest finish of each finished status
   * (index seeks, and the running rows).
   */
  latestWrite: raw(
    sql`SELECT max(at) AS at FROM (
      SELECT ${tasks.createdAt} AS at FROM ${tasks}
        WHERE ${tasks.id} = (SELECT max(${tasks.id}) FROM ${tasks})
      UNION ALL SELECT max(${tasks.leaseExpiresAt} - ${tasks.leaseMs}) FROM ${tasks}
        INDEXED BY tasks_lease_idx WHERE ${running}
      ${
      sql.join(
        ["completed", "failed", "cancelled"].map((status) =>
          sql`UNION ALL SELECT max(${tasks.completedAt}) FROM ${tasks} INDEXED BY tasks_finished_idx
            WHERE ${tasks.status} = ${sql.raw(`'${status}'`)} AND ${finished}`
        ),
        sql` `,
      )
    })`,
  ),

  /**
   * The earliest due time, lease expiry or schedule slot. Two compounds of at most four terms: a
   * Durable Object's SQLite allows five per compound.
   */
  nextWake: raw(
    sql`SELECT min(at) AS at FROM (SELECT (SELECT min(at) FROM (${earliestPending})) AS at
      UNION ALL SELECT min(${tasks.leaseExpiresAt}) FROM ${tasks} INDEXED BY tasks_lease_idx
        WHERE ${running}
      UNION ALL SELECT min(${schedules.nextRunAt}) FROM ${schedules} WHERE ${schedules.paused} = 0)`,
  ),
} as const;

/** A statement's name. */
export type StatementKey = keyof typeof STATEMENTS;

/** Named arguments of a statement. */
export type Args = Record<string, SqliteValue>;

/** How the engine's helpers run its prepared statements. */
export interface Statements {
  /** Every row. */
  all(key: StatementKey, args?: Args): SqliteRow[];
  /** The first row, if any. */
  get(key: StatementKey, args?: Args): SqliteRow | undefined;
  /** Runs it; how many rows it changed. */
  exec(key: StatementKey, args?: Args): number;
}
