/**
 * Typed in-process events of a {@linkcode TaskQueue}: what happened to which task, as it happens
 * in this process.
 *
 * @module
 */

import type { JsonValue, Task, TaskPriority } from "./task.ts";

/** Each event's name and payload. */
export interface QueueEvents {
  /** A task was added (or an existing one was returned for its `uniqueKey`). */
  enqueued: {
    taskId: number;
    name: string;
    taskType: string;
    priority: TaskPriority;
    scheduledAt: number;
  };
  /** A task was claimed. */
  started: { task: Task };
  /** A task completed. */
  completed: { task: Task };
  /** An attempt failed; the task will be retried at `task.scheduledAt`. */
  failed: { task: Task; error: string };
  /** An attempt failed and no retries are left: the task is a dead letter (`failed`). */
  dead: { task: Task; error: string };
  /** A task was redriven to `pending` by `retryTask` or `retryFailed`. */
  retried: { task: Task };
  /** A task ended `cancelled`. */
  cancelled: { task: Task };
  /** A handler reported progress. */
  progress: { task: Task; progress: JsonValue };
  /**
   * This process's clock disagrees, by more than the queue's `clockToleranceMs`, with its own
   * monotonic time (`kind` `"jump"`: the wall clock jumped by `offsetMs`, forward when positive)
   * or with the database's other writers (`"behind"`: it is `-offsetMs` behind the newest time
   * they recorded). Timestamps this process writes (due times, leases) are then off for every
   * process on the file. Emitted once per incident.
   */
  clock_skew: { kind: ClockSkewKind; offsetMs: number; toleranceMs: number };
}

/** How a clock disagrees: see {@linkcode QueueEvents.clock_skew}. */
export const ClockSkewKind = {
  /** The wall clock jumped against the monotonic clock. */
  JUMP: "jump",
  /** The clock is behind the newest time another writer recorded. */
  BEHIND: "behind",
} as const;

/** A {@linkcode ClockSkewKind} value. */
export type ClockSkewKind = typeof ClockSkewKind[keyof typeof ClockSkewKind];

/** An event's name. */
export type QueueEventName = keyof QueueEvents;

/** A listener of one event. It may be async: a rejection is logged like a throw. */
export type QueueListener<E extends QueueEventName> = (event: QueueEvents[E]) => unknown;

/** Every event name. */
export const QUEUE_EVENTS: readonly QueueEventName[] = [
  "enqueued",
  "started",
  "completed",
  "failed",
  "dead",
  "retried",
  "cancelled",
  "progress",
  "clock_skew",
];
