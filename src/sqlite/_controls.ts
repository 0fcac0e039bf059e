/**
 * The SQLite engine's writes of pauses, limits and recurring schedules (the statements of
 * `_control_statements.ts`), run in the engine's transaction through its {@linkcode Statements}.
 *
 * @module
 */

import type { FiredSlot, Firing, NewSchedule, Schedule, TypeLimits } from "../engine.ts";
import { insertTask } from "./_insert.ts";
import { toSchedule } from "./_rows.ts";
import type { Statements } from "./_statements.ts";

/** Pauses a task type (`pausedAt`) or resumes it (`null`), then drops controls left empty. */
export function setPaused(run: Statements, taskType: string, pausedAt: number | null): void {
  run.exec("setPaused", { taskType, pausedAt });
  run.exec("tidyControls");
}

/** Sets a task type's concurrency and rate limits, then drops controls left empty. */
export function setLimits(run: Statements, taskType: string, limits: TypeLimits): void {
  run.exec("setLimits", {
    taskType,
    maxConcurrency: limits.concurrency,
    rateMax: limits.rate?.max ?? null,
    rateWindowMs: limits.rate?.intervalMs ?? null,
    keyConcurrency: limits.concurrencyPerKey,
    keyRateMax: limits.ratePerKey?.max ?? null,
    keyRateWindowMs: limits.ratePerKey?.intervalMs ?? null,
  });
  run.exec("tidyControls");
}

/** Inserts or replaces a schedule by name; returns it as stored. */
export function upsertSchedule(run: Statements, schedule: NewSchedule, now: number): Schedule {
  return toSchedule(
    run.get("upsertSchedule", {
      name: schedule.name,
      cron: schedule.cron,
      timezone: schedule.timezone,
      taskType: schedule.taskType,
      taskName: schedule.taskName,
      payload: JSON.stringify(schedule.payload),
      priority: schedule.priority,
      maxRetries: schedule.maxRetries,
      timeoutMs: schedule.timeoutMs,
      nextRunAt: schedule.nextRunAt,
      paused: schedule.paused ? 1 : 0,
      now,
    })!,
  );
}

/** Fires each slot still due as read (one task each) and advances its schedule. */
export function fireSchedules(
  run: Statements,
  firings: readonly Firing[],
  now: number,
): FiredSlot[] {
  const fired: FiredSlot[] = [];
  for (const { name, slot, nextRunAt, task } of firings) {
    // Another process fired this slot first (or the schedule changed): nothing to do.
    if (!run.get("scheduleAt", { name, slot })) continue;
    const { id: taskId } = insertTask(run, task, now);
    run.exec("advanceSchedule", { name, slot, nextRunAt, taskId, now });
    const { name: taskName, taskType, priority } = task;
    fired.push({ name, slot, taskId, taskName, taskType, priority });
  }
  return fired;
}
