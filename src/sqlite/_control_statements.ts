/**
 * The SQL statements of pauses, limits and rate windows (`task_type_controls`, `rate_events`) and
 * of recurring schedules, built once like the task statements (`_statements.ts`, which merges
 * these into `STATEMENTS`).
 *
 * @module
 */

import { sql } from "drizzle-orm";
import { compile, db, p, raw } from "./_sql.ts";
import { controls, rateEvents, schedules } from "./schema.ts";

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

/** The statements of controls and schedules, by name. */
export const CONTROL_STATEMENTS = {
  /** Claims per rate-limited type inside its window. */
  rateCounts: raw(
    sql`SELECT e.task_type, count(*) AS count FROM ${rateEvents} e
      JOIN ${controls} c ON c.task_type = e.task_type
      WHERE c.rate_window_ms IS NOT NULL AND e.claimed_at > ${p("now")} - c.rate_window_ms
      GROUP BY e.task_type`,
  ),

  /** Claims per key of the types with a per-key rate, inside the per-key window. */
  rateCountsByKey: raw(
    sql`SELECT e.task_type, e.concurrency_key, count(*) AS count FROM ${rateEvents} e
      JOIN ${controls} c ON c.task_type = e.task_type
      WHERE e.concurrency_key IS NOT NULL AND c.key_rate_window_ms IS NOT NULL
        AND e.claimed_at > ${p("now")} - c.key_rate_window_ms
      GROUP BY e.task_type, e.concurrency_key`,
  ),

  /** Claims of one key of a type inside its per-key window. */
  rateCountOfKey: raw(
    sql`SELECT count(*) AS count, min(e.claimed_at) AS oldest FROM ${rateEvents} e
      JOIN ${controls} c ON c.task_type = e.task_type
      WHERE e.task_type = ${p("taskType")} AND e.concurrency_key = ${p("concurrencyKey")}
        AND c.key_rate_window_ms IS NOT NULL AND e.claimed_at > ${p("now")} - c.key_rate_window_ms`,
  ),

  /** Records one claim per entry of `claims` (a JSON array of `[type, key]`) at `now`. */
  rateRecord: raw(
    sql`INSERT INTO ${rateEvents} (task_type, concurrency_key, claimed_at)
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ${p("now")}
      FROM json_each(${p("claims")})`,
  ),

  /**
   * Forgets claims that left their type's windows, per type and per key (all of a type that is
   * no longer rated).
   */
  rateForget: raw(
    sql`DELETE FROM ${rateEvents} WHERE claimed_at <= ${p("now")} - coalesce(
      (SELECT max(coalesce(c.rate_window_ms, 0), coalesce(c.key_rate_window_ms, 0))
        FROM ${controls} c WHERE c.task_type = rate_events.task_type), 0)`,
  ),

  /** Where the last fair claim of a type ended: the rotation goes on after this key. */
  keyCursor: raw(
    sql`SELECT key_cursor FROM ${controls} WHERE task_type = ${p("taskType")}`,
  ),

  /** Moves a type's rotation cursor. */
  setKeyCursor: raw(
    sql`UPDATE ${controls} SET key_cursor = ${p("cursor")} WHERE task_type = ${p("taskType")}`,
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
      keyConcurrency: p("keyConcurrency"),
      keyRateMax: p("keyRateMax"),
      keyRateWindowMs: p("keyRateWindowMs"),
    }).onConflictDoUpdate({
      target: controls.taskType,
      set: {
        maxConcurrency: p("maxConcurrency"),
        rateMax: p("rateMax"),
        rateWindowMs: p("rateWindowMs"),
        keyConcurrency: p("keyConcurrency"),
        keyRateMax: p("keyRateMax"),
        keyRateWindowMs: p("keyRateWindowMs"),
      },
    }),
  ),

  /** Drops control rows that no longer say anything. */
  tidyControls: compile(
    db.delete(controls).where(
      sql`${controls.pausedAt} IS NULL AND ${controls.maxConcurrency} IS NULL
        AND ${controls.rateMax} IS NULL AND ${controls.keyConcurrency} IS NULL
        AND ${controls.keyRateMax} IS NULL`,
    ),
  ),

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

  /** Whether a schedule is still at a slot (so that it fires once). */
  scheduleAt: compile(
    db.select({ name: schedules.name }).from(schedules).where(
      sql`${schedules.name} = ${p("name")} AND ${schedules.nextRunAt} = ${p("slot")}
        AND ${schedules.paused} = 0`,
    ),
  ),

  /** Moves a schedule past the slot it fired for. */
  advanceSchedule: compile(
    db.update(schedules).set({
      nextRunAt: p("nextRunAt"),
      lastRunAt: p("slot"),
      lastTaskId: p("taskId"),
      updatedAt: p("now"),
    }).where(sql`${schedules.name} = ${p("name")} AND ${schedules.nextRunAt} = ${p("slot")}`),
  ),
} as const;
