/**
 * Every SQL statement of the SQLite engine, built once by drizzle from the schema and prepared
 * once per connection. Named placeholders (`p("now")`) become positional `?` parameters; a
 * statement's `bind()` turns named arguments into the positional array.
 *
 * Status literals are written inline (not bound) so that SQLite can use the partial indexes, and
 * the claim, recovery and pruning name their index (`INDEXED BY`): without statistics the planner
 * would rather walk `tasks_status_idx`, which costs O(pending) per claim and O(running) per
 * recovery.
 *
 * @module
 */

import { is, Param, Placeholder, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/sqlite-proxy";
import type { SqliteValue } from "../drivers/driver.ts";
import { controls, rateEvents, schedules, tasks } from "./schema.ts";

/** A statement's SQL text and how to bind its named parameters. */
export interface Compiled {
  /** SQL with positional `?` parameters. */
  readonly sql: string;
  /** Turns named arguments into the positional parameter array. */
  bind(args: Readonly<Record<string, SqliteValue>>): SqliteValue[];
}

// drizzle used as a statement builder only: the proxy callback never runs.
const db = drizzle(() => {
  throw new Error("tasklite: the drizzle builder does not execute statements");
});

const p = (name: string) => sql`${sql.placeholder(name)}`;

function compile(query: { toSQL(): { sql: string; params: unknown[] } }): Compiled {
  const { sql: text, params } = query.toSQL();
  const slots = params.map((param): { name: string } | { value: SqliteValue } => {
    const inner = is(param, Param) ? param.value : param;
    if (is(inner, Placeholder)) return { name: inner.name };
    return { value: inner as SqliteValue };
  });
  return {
    sql: text,
    bind(args) {
      return slots.map((slot) => {
        if (!("name" in slot)) return slot.value;
        const value = args[slot.name];
        if (value === undefined) throw new TypeError(`Missing SQL parameter "${slot.name}"`);
        return value;
      });
    },
  };
}

const live = sql`${tasks.status} IN ('pending', 'running')`;
const finished = sql`${tasks.status} IN ('completed', 'failed', 'cancelled')`;
const fenced = sql`${tasks.id} = ${p("id")} AND (${p("attempts")} IS NULL OR ${tasks.attempts} = ${
  p("attempts")
})`;
const running = sql`${tasks.status} = 'running'`;

/** Appends `{ attempt, error, at }` to the task's error history. */
const appendError = (error: SQL) =>
  sql`json_insert(${tasks.errors}, '$[#]', json_object('attempt', ${tasks.attempts}, 'error', ${error}, 'at', ${
    p("now")
  }))`;

const leaseError = sql`'Lease expired after ' || ${tasks.leaseMs} || ' ms (worker '
  || coalesce(${tasks.workerId}, 'unknown') || ' did not complete or heartbeat)'`;

const retriesSpent = sql`${tasks.retryCount} + 1 > ${tasks.maxRetries}`;

/**
 * The claim: due pending tasks in priority, due time and id order, in one statement. Variants
 * restrict to some task types (`taskTypes`, a JSON array) and exclude others (`excluded`: paused
 * types and types at their limit).
 */
function claim(byType: boolean, excluding: boolean): Compiled {
  const only = byType
    ? sql`AND ${tasks.taskType} IN (SELECT value FROM json_each(${p("taskTypes")}))`
    : sql``;
  const except = excluding
    ? sql`AND ${tasks.taskType} NOT IN (SELECT value FROM json_each(${p("excluded")}))`
    : sql``;
  return compile(
    db.update(tasks).set({
      status: sql`'running'`,
      attempts: sql`${tasks.attempts} + 1`,
      startedAt: p("now"),
      workerId: p("workerId"),
      leaseMs: p("leaseMs"),
      leaseExpiresAt: p("leaseExpiresAt"),
    }).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_dequeue_idx
      WHERE ${tasks.status} = 'pending' AND ${tasks.scheduledAt} <= ${p("now")} ${only} ${except}
      ORDER BY ${tasks.priority} DESC, ${tasks.scheduledAt}, ${tasks.id}
      LIMIT ${p("limit")})`).returning(),
  );
}

/** A schedule's columns as `upsertSchedule` writes them, on insert and on replace alike. */
const scheduleFields = {
  cron: p("cron"),
  timezone: p("timezone"),
  taskType: p("taskType"),
  taskName: p("taskName"),
  payload: p("payload"),
  priority: p("priority"),
  maxRetries: p("maxRetries"),
  timeoutMs: p("timeoutMs"),
  nextRunAt: p("nextRunAt"),
  paused: p("paused"),
  updatedAt: p("now"),
};

/** Tasks with a status and an extra condition, newest first, paged. */
function listWhere(condition: SQL): Compiled {
  return compile(
    db.select().from(tasks).where(sql`${tasks.status} = ${p("status")} ${condition}`)
      .orderBy(sql`${tasks.id} DESC`).limit(sql.placeholder("limit"))
      .offset(sql.placeholder("offset")),
  );
}

/** The statements, by transition. */
export const STATEMENTS = {
  /** Inserts one pending task; returns nothing when its unique key is live already. */
  insert: compile(
    db.insert(tasks).values({
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
      errors: sql`'[]'`,
    }).onConflictDoNothing().returning({ id: tasks.id }),
  ),

  /** The live task holding a unique key. */
  findLiveByKey: compile(
    db.select({ id: tasks.id }).from(tasks).where(
      sql`${tasks.uniqueKey} = ${p("uniqueKey")} AND ${live}`,
    ),
  ),

  /**
   * Running tasks whose lease ran out: one failed attempt each, then pending, failed (retries
   * spent) or cancelled (a cancel was asked while it ran).
   */
  recover: compile(
    db.update(tasks).set({
      status: sql`CASE WHEN ${tasks.cancelRequestedAt} IS NOT NULL THEN 'cancelled'
        WHEN ${retriesSpent} THEN 'failed' ELSE 'pending' END`,
      retryCount: sql`${tasks.retryCount} + 1`,
      error: leaseError,
      errors: appendError(leaseError),
      failedAt: p("now"),
      completedAt: sql`CASE WHEN ${tasks.cancelRequestedAt} IS NOT NULL OR ${retriesSpent}
        THEN ${p("now")} ELSE NULL END`,
      scheduledAt: p("now"),
      leaseExpiresAt: null,
    }).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_lease_idx
      WHERE ${running} AND ${tasks.leaseExpiresAt} <= ${p("now")})`).returning(),
  ),

  claim: claim(false, false),
  claimTypes: claim(true, false),
  claimExcept: claim(false, true),
  claimTypesExcept: claim(true, true),

  /** Running tasks per type, for concurrency limits and metrics. */
  runningByType: compile(
    db.select({ taskType: tasks.taskType, count: sql<number>`count(*)`.as("count") }).from(tasks)
      .where(running).groupBy(tasks.taskType),
  ),

  /** Live tasks per type and status, for metrics. */
  liveByType: compile(
    db.select({
      taskType: tasks.taskType,
      status: tasks.status,
      count: sql<number>`count(*)`.as("count"),
    }).from(tasks).where(live).groupBy(tasks.taskType, tasks.status),
  ),

  /** Claims of a rate-limited type still inside its window. */
  rateCount: compile(
    db.select({ count: sql<number>`count(*)`.as("count") }).from(rateEvents).where(
      sql`${rateEvents.taskType} = ${p("taskType")} AND ${rateEvents.claimedAt} > ${p("since")}`,
    ),
  ),

  /** Records a claim of a rate-limited type. */
  rateRecord: compile(
    db.insert(rateEvents).values({ taskType: p("taskType"), claimedAt: p("now") }),
  ),

  /** Forgets claims that left their window. */
  rateForget: compile(
    db.delete(rateEvents).where(
      sql`${rateEvents.taskType} = ${p("taskType")} AND ${rateEvents.claimedAt} <= ${p("since")}`,
    ),
  ),

  /** Every pause flag and limit. */
  controls: compile(db.select().from(controls)),

  /** Pauses or resumes a task type (`*`: the whole queue). */
  setPaused: compile(
    db.insert(controls).values({ taskType: p("taskType"), pausedAt: p("pausedAt") })
      .onConflictDoUpdate({ target: controls.taskType, set: { pausedAt: p("pausedAt") } }),
  ),

  /** Sets a task type's limits. */
  setLimits: compile(
    db.insert(controls).values({
      taskType: p("taskType"),
      maxConcurrency: p("maxConcurrency"),
      rateMax: p("rateMax"),
      rateWindowMs: p("rateWindowMs"),
    }).onConflictDoUpdate({
      target: controls.taskType,
      set: {
        maxConcurrency: p("maxConcurrency"),
        rateMax: p("rateMax"),
        rateWindowMs: p("rateWindowMs"),
      },
    }),
  ),

  /** Drops control rows that no longer say anything. */
  tidyControls: compile(
    db.delete(controls).where(
      sql`${controls.pausedAt} IS NULL AND ${controls.maxConcurrency} IS NULL
        AND ${controls.rateMax} IS NULL`,
    ),
  ),

  /** Extends a running task's lease, fenced by its token when one is given. */
  heartbeat: compile(
    db.update(tasks).set({ leaseExpiresAt: sql`${p("now")} + ${tasks.leaseMs}` })
      .where(sql`${fenced} AND ${running}`).returning(),
  ),

  /** Records a running task's progress. */
  progress: compile(
    db.update(tasks).set({ progress: p("progress") }).where(sql`${fenced} AND ${running}`)
      .returning(),
  ),

  /** Running → completed. */
  complete: compile(
    db.update(tasks).set({
      status: sql`'completed'`,
      result: p("result"),
      completedAt: p("now"),
      leaseExpiresAt: null,
    }).where(sql`${fenced} AND ${running}`).returning(),
  ),

  /** Running → pending (retry at `scheduledAt`), failed or cancelled (`completedAt` set). */
  fail: compile(
    db.update(tasks).set({
      status: p("status"),
      retryCount: sql`${tasks.retryCount} + 1`,
      error: p("error"),
      errors: appendError(p("error")),
      failedAt: p("now"),
      scheduledAt: p("scheduledAt"),
      completedAt: p("completedAt"),
      leaseExpiresAt: null,
    }).where(sql`${fenced} AND ${running}`).returning(),
  ),

  /** Running → pending, due now, no attempt counted: a claim given back. */
  release: compile(
    db.update(tasks).set({ status: sql`'pending'`, scheduledAt: p("now"), leaseExpiresAt: null })
      .where(sql`${fenced} AND ${running}`).returning(),
  ),

  /** Pending → cancelled. */
  cancel: compile(
    db.update(tasks).set({ status: sql`'cancelled'`, completedAt: p("now") })
      .where(sql`${tasks.id} = ${p("id")} AND ${tasks.status} = 'pending'`).returning(),
  ),

  /** Marks a running task for cancellation; its worker aborts it. */
  requestCancel: compile(
    db.update(tasks).set({
      cancelRequestedAt: sql`coalesce(${tasks.cancelRequestedAt}, ${p("now")})`,
    }).where(sql`${tasks.id} = ${p("id")} AND ${running}`).returning(),
  ),

  /** Of these running task ids (a JSON array), the ones asked to cancel. */
  cancelRequested: compile(
    db.select({ id: tasks.id }).from(tasks).where(
      sql`${tasks.id} IN (SELECT value FROM json_each(${p("ids")}))
        AND ${tasks.cancelRequestedAt} IS NOT NULL`,
    ),
  ),

  /** Failed or cancelled → pending, retries reset (a redrive). */
  retry: compile(
    db.update(tasks).set({
      status: sql`'pending'`,
      retryCount: 0,
      scheduledAt: p("now"),
      completedAt: null,
      result: null,
      cancelRequestedAt: null,
    }).where(sql`${tasks.id} = ${p("id")} AND ${tasks.status} IN ('failed', 'cancelled')`)
      .returning(),
  ),

  /** Failed tasks (of a type, or all) that could be redriven. */
  failedIds: compile(
    db.select({ id: tasks.id }).from(tasks).where(
      sql`${tasks.status} = 'failed'
        AND (${p("taskType")} IS NULL OR ${tasks.taskType} = ${p("taskType")})`,
    ).orderBy(tasks.id).limit(sql.placeholder("limit")),
  ),

  /** Deletes finished tasks older than `before`, oldest first, at most `limit`. */
  prune: compile(
    db.delete(tasks).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_finished_idx
      WHERE ${finished} AND ${tasks.status} IN (SELECT value FROM json_each(${p("statuses")}))
        AND ${tasks.completedAt} <= ${p("before")}
      ORDER BY ${tasks.completedAt} LIMIT ${p("limit")})`),
  ),

  /** One task by id. */
  get: compile(db.select().from(tasks).where(sql`${tasks.id} = ${p("id")}`)),

  /** Counts per status. */
  stats: compile(
    db.select({ status: tasks.status, count: sql<number>`count(*)`.as("count") }).from(tasks)
      .groupBy(tasks.status),
  ),

  /** Tasks with a status whose name or type contains `pattern` (a LIKE pattern), newest first. */
  search: listWhere(
    sql`AND (${tasks.name} LIKE ${p("pattern")} ESCAPE '\\'
      OR ${tasks.taskType} LIKE ${p("pattern")} ESCAPE '\\')`,
  ),

  /** Tasks with a status, newest first. */
  list: listWhere(sql``),

  /** Creates or replaces a schedule. */
  upsertSchedule: compile(
    db.insert(schedules).values({ name: p("name"), ...scheduleFields, createdAt: p("now") })
      .onConflictDoUpdate({
        target: schedules.name,
        set: {
          ...scheduleFields,
          // Re-declaring a schedule (as apps do at every boot) keeps its pending slot, so that a
          // slot due now still fires and one that fired does not come back.
          nextRunAt: sql`CASE WHEN ${schedules.cron} = excluded.cron
            AND ${schedules.timezone} IS excluded.timezone AND ${schedules.paused} = excluded.paused
            THEN ${schedules.nextRunAt} ELSE excluded.next_run_at END`,
        },
      }).returning(),
  ),

  /** Removes a schedule. */
  deleteSchedule: compile(
    db.delete(schedules).where(sql`${schedules.name} = ${p("name")}`).returning({
      name: schedules.name,
    }),
  ),

  /** Every schedule, by name. */
  listSchedules: compile(db.select().from(schedules).orderBy(schedules.name)),

  /** Schedules whose next slot has come. */
  dueSchedules: compile(
    db.select().from(schedules).where(
      sql`${schedules.paused} = 0 AND ${schedules.nextRunAt} <= ${p("now")}`,
    ).orderBy(schedules.nextRunAt),
  ),

  /** Moves a schedule past the slot it fired for; matches only if no one else did. */
  advanceSchedule: compile(
    db.update(schedules).set({
      nextRunAt: p("nextRunAt"),
      lastRunAt: p("slot"),
      lastTaskId: p("taskId"),
      updatedAt: p("now"),
    }).where(sql`${schedules.name} = ${p("name")} AND ${schedules.nextRunAt} = ${p("slot")}`)
      .returning({ name: schedules.name }),
  ),
} as const;
