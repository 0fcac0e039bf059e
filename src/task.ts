/**
 * The task record and its vocabulary: statuses, priorities and the JSON types a task carries.
 *
 * @module
 */

/**
 * The lifecycle states of a task.
 *
 * `pending` → `running` → `completed`; a failed run goes back to `pending` after a backoff until its
 * retries are spent, then to `failed`; a pending task can be `cancelled`; `failed` and `cancelled`
 * tasks can be redriven to `pending` with {@linkcode TaskQueue.retryTask}.
 *
 * @example Usage
 * ```ts
 * import { TaskStatus } from "@tasklite/tasklite";
 *
 * console.log(TaskStatus.COMPLETED); // "completed"
 * ```
 */
export const TaskStatus = {
  PENDING: "pending",
  RUNNING: "running",
  COMPLETED: "completed",
  FAILED: "failed",
  CANCELLED: "cancelled",
} as const;

/** One of the {@linkcode TaskStatus} strings. */
export type TaskStatus = typeof TaskStatus[keyof typeof TaskStatus];

/** Every status, in lifecycle order. */
export const TASK_STATUSES: readonly TaskStatus[] = Object.values(TaskStatus);

/**
 * Task priorities: a higher number is dequeued first.
 *
 * @example Usage
 * ```ts
 * import { TaskPriority } from "@tasklite/tasklite";
 *
 * console.log(TaskPriority.CRITICAL > TaskPriority.LOW); // true
 * ```
 */
export const TaskPriority = {
  LOW: 1,
  NORMAL: 2,
  HIGH: 3,
  CRITICAL: 4,
} as const;

/** One of the {@linkcode TaskPriority} numbers. */
export type TaskPriority = typeof TaskPriority[keyof typeof TaskPriority];

/**
 * The name of a priority number, for display.
 *
 * @example Usage
 * ```ts
 * import { priorityName, TaskPriority } from "@tasklite/tasklite";
 *
 * console.log(priorityName(TaskPriority.HIGH)); // "HIGH"
 * ```
 *
 * @param priority A {@linkcode TaskPriority} value.
 * @returns `"LOW"`, `"NORMAL"`, `"HIGH"` or `"CRITICAL"`.
 */
export function priorityName(priority: TaskPriority): keyof typeof TaskPriority {
  const names = { 1: "LOW", 2: "NORMAL", 3: "HIGH", 4: "CRITICAL" } as const;
  return names[priority];
}

/** A value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * A task as stored in the queue. Timestamps are epoch milliseconds, `null` when unset.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const id = await queue.enqueue({ name: "Say hi", taskType: "greet", payload: { to: "Ada" } });
 * const task = await queue.getTask(id);
 * console.log(task?.status); // "pending"
 * await queue.close();
 * ```
 */
export interface Task {
  /** The task id, assigned at enqueue, increasing. */
  id: number;
  /** A human-readable name. */
  name: string;
  /** Selects the handler that runs the task. */
  taskType: string;
  /** The JSON input given at enqueue. */
  payload: JsonValue;
  /** The priority: higher runs first. */
  priority: TaskPriority;
  /** The lifecycle state. */
  status: TaskStatus;
  /** The JSON value the handler returned, once completed. */
  result: JsonValue | null;
  /** The last failure's message, if any. */
  error: string | null;
  /** Failed attempts so far (a run whose lease expired counts as one). */
  retryCount: number;
  /** Retries allowed after the first failure: the task runs at most `maxRetries + 1` times. */
  maxRetries: number;
  /** Times the task has been claimed; also the fencing token of the current lease. */
  attempts: number;
  /** Idempotency key: while a task with this key is pending or running, enqueue returns its id. */
  uniqueKey: string | null;
  /** When the task was enqueued. */
  createdAt: number;
  /** When the task becomes due. */
  scheduledAt: number;
  /** When the current or last run was claimed. */
  startedAt: number | null;
  /** When the task reached a final state (`completed`, `failed` or `cancelled`). */
  completedAt: number | null;
  /** When the last attempt failed. */
  failedAt: number | null;
  /** The worker holding (or that last held) the lease. */
  workerId: string | null;
  /** The lease duration the task was claimed with; heartbeats extend the lease by this much. */
  leaseMs: number | null;
  /** When the current lease runs out, while running. */
  leaseExpiresAt: number | null;
  /** The run time limit given at enqueue, if any (a handler's type may set one too). */
  timeoutMs: number | null;
  /** The retry policy given at enqueue, if any; otherwise the worker's or the queue's applies. */
  retryPolicy: RetryPolicy | null;
  /** The last progress the handler reported with `ctx.progress()`. */
  progress: JsonValue | null;
  /** Every failed attempt, oldest first. */
  errors: TaskAttemptError[];
  /** When a cancel was asked of the task while it was running. */
  cancelRequestedAt: number | null;
  /**
   * The concurrency key given at enqueue (a tenant, an account), or `null`: its type's per-key
   * limits count it with the other tasks of its key, and claims rotate across keys.
   */
  concurrencyKey: string | null;
}

/** One failed attempt in a task's error history. */
export interface TaskAttemptError {
  /** The attempt ({@linkcode Task.attempts} at the time). */
  attempt: number;
  /** What went wrong. */
  error: string;
  /** When, epoch ms. */
  at: number;
}

/**
 * How long a failed task waits before its next attempt, as data (so it can be stored with the
 * task): a fixed delay, or exponential backoff with jitter.
 */
export type RetryPolicy =
  | { type: "fixed"; delayMs: number }
  | {
    type: "exponential";
    /** @default {1000} */
    baseMs?: number;
    /** @default {2} */
    factor?: number;
    /** @default {3_600_000} */
    maxMs?: number;
    /** @default {0.5} */
    jitter?: number;
  };

/**
 * Counts of tasks per status. Every status is present, zero when no task has it.
 */
export type QueueStats = Record<TaskStatus, number>;
