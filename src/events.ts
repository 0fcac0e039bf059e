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
}

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
];
