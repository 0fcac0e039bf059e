/**
 * The SQL of pauses, limits and recurring schedules on PostgreSQL (`task_type_controls`,
 * `schedules`), as postgres.js tagged templates.
 *
 * @module
 */

import type { NewSchedule, TypeLimits } from "../engine.ts";
import type { On } from "./_statements.ts";

/** Pauses or resumes a task type (`*`: the whole queue), then drops rows that say nothing. */
export async function setPaused({ db, t }: On, taskType: string, pausedAt: number | null) {
  await db`INSERT INTO ${t.controls} (task_type, paused_at) VALUES (${taskType}, ${pausedAt}::int8)
    ON CONFLICT (task_type) DO UPDATE SET paused_at = excluded.paused_at`;
  await tidy({ db, t });
}

/** Sets a task type's limits, then drops rows that say nothing. */
export async function setLimits({ db, t }: On, taskType: string, limits: TypeLimits) {
  const rateMax = limits.rate?.max ?? null;
  const rateWindowMs = limits.rate?.intervalMs ?? null;
  const keyRateMax = limits.ratePerKey?.max ?? null;
  const keyRateWindowMs = limits.ratePerKey?.intervalMs ?? null;
  await db`INSERT INTO ${t.controls} (task_type, max_concurrency, rate_max, rate_window_ms,
      key_concurrency, key_rate_max, key_rate_window_ms)
    VALUES (${taskType}, ${limits.concurrency}::int4, ${rateMax}::int4, ${rateWindowMs}::int8,
      ${limits.concurrencyPerKey}::int4, ${keyRateMax}::int4, ${keyRateWindowMs}::int8)
    ON CONFLICT (task_type) DO UPDATE SET max_concurrency = excluded.max_concurrency,
      rate_max = excluded.rate_max, rate_window_ms = excluded.rate_window_ms,
      key_concurrency = excluded.key_concurrency, key_rate_max = excluded.key_rate_max,
      key_rate_window_ms = excluded.key_rate_window_ms`;
  await tidy({ db, t });
}

function tidy({ db, t }: On) {
  return db`DELETE FROM ${t.controls}
    WHERE paused_at IS NULL AND max_concurrency IS NULL AND rate_max IS NULL
      AND key_concurrency IS NULL AND key_rate_max IS NULL`;
}

/** Creates or replaces a schedule; a re-declared one keeps its pending slot. */
export function upsertSchedule({ db, t }: On, schedule: NewSchedule, now: number) {
  return db`INSERT INTO ${t.schedules} (name, cron, timezone, task_type, task_name,
      payload, priority, max_retries, timeout_ms, next_run_at, paused, created_at, updated_at)
    VALUES (${schedule.name}, ${schedule.cron}, ${schedule.timezone}::text, ${schedule.taskType},
      ${schedule.taskName}, ${JSON.stringify(schedule.payload)}, ${schedule.priority}::int4,
      ${schedule.maxRetries}::int4, ${schedule.timeoutMs}::int8, ${schedule.nextRunAt}::int8,
      ${schedule.paused}, ${now}::int8, ${now}::int8)
    ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
      task_type = excluded.task_type, task_name = excluded.task_name, payload = excluded.payload,
      priority = excluded.priority, max_retries = excluded.max_retries,
      timeout_ms = excluded.timeout_ms, paused = excluded.paused, updated_at = excluded.updated_at,
      next_run_at = CASE WHEN ${t.schedules}.cron = excluded.cron
        AND ${t.schedules}.timezone IS NOT DISTINCT FROM excluded.timezone
        AND ${t.schedules}.paused = excluded.paused
        THEN ${t.schedules}.next_run_at ELSE excluded.next_run_at END
    RETURNING *`;
}

/** Removes a schedule; a row when there was one. */
export const deleteSchedule = ({ db, t }: On, name: string) =>
  db`DELETE FROM ${t.schedules} WHERE name = ${name} RETURNING name`;

/** Every schedule, by name. */
export const listSchedules = ({ db, t }: On) =>
  db`SELECT * FROM ${t.schedules} ORDER BY name COLLATE "C"`;

/** Unpaused schedules whose next slot has come, earliest first. */
export const dueSchedules = ({ db, t }: On, now: number) =>
  db`SELECT * FROM ${t.schedules} WHERE NOT paused AND next_run_at <= ${now}::int8
    ORDER BY next_run_at`;

/**
 * Moves a schedule past `slot` if it is still there (a racing process waits on the row, then finds
 * it moved): a row when this call owns the slot.
 */
export const advanceSchedule = (
  { db, t }: On,
  fire: { name: string; slot: number; nextRunAt: number | null },
  now: number,
) =>
  db`UPDATE ${t.schedules} SET next_run_at = ${fire.nextRunAt}::int8,
      last_run_at = ${fire.slot}::int8, updated_at = ${now}::int8
    WHERE name = ${fire.name} AND next_run_at = ${fire.slot}::int8 AND NOT paused
    RETURNING name`;

/** Records the task a slot enqueued. */
export const recordScheduleTask = ({ db, t }: On, name: string, taskId: number) =>
  db`UPDATE ${t.schedules} SET last_task_id = ${taskId}::int8 WHERE name = ${name}`;
