/**
 * Schedules as data: a stored schedule from its options, and the firing of a due slot (the task it
 * enqueues and the slot after it). Pure; engines apply firings fenced by their slot.
 *
 * @module
 */

import { nextCronSlot } from "../cron.ts";
import type { Firing, NewTask, Schedule } from "../engine.ts";

/** The task one slot of a schedule enqueues, due at the slot. */
export function scheduledTask(schedule: Schedule, slot: number): NewTask {
  return {
    name: schedule.taskName,
    taskType: schedule.taskType,
    payload: schedule.payload,
    priority: schedule.priority,
    scheduledAt: slot,
    maxRetries: schedule.maxRetries,
    uniqueKey: null,
    concurrencyKey: null,
    timeoutMs: schedule.timeoutMs,
    retryPolicy: null,
  };
}

/**
 * The firings of the schedules due at `now`: each fires its pending slot once and moves to the
 * first slot after now (after downtime, only the latest missed slot fires).
 *
 * @param due Schedules whose `nextRunAt` is at or before `now`.
 * @param now Epoch ms.
 * @returns One firing per due schedule.
 */
export function planFirings(due: readonly Schedule[], now: number): Firing[] {
  return due.filter((schedule) => schedule.nextRunAt !== null && !schedule.paused).map((
    schedule,
  ) => ({
    name: schedule.name,
    slot: schedule.nextRunAt!,
    nextRunAt: nextCronSlot(schedule.cron, now, schedule.timezone),
    task: scheduledTask(schedule, schedule.nextRunAt!),
  }));
}
