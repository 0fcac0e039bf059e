/**
 * The errors a caller of the queue is expected to catch. Bad input throws a
 * {@linkcode ValidationError} (a `TypeError`); other bad arguments throw plain `TypeError`s or
 * `RangeError`s.
 *
 * @module
 */

import type { TaskStatus } from "./task.ts";

/**
 * One failed rule of a {@linkcode ValidationError}: a valibot issue, of which this names the
 * fields worth reading.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue, ValidationError } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.enqueue({ name: "Job", taskType: "" }).catch((error) => {
 *   if (!(error instanceof ValidationError)) throw error;
 *   for (const issue of error.issues) {
 *     console.log(issue.path?.map((item) => item.key).join("."), issue.message);
 *     // taskType must not be empty
 *   }
 * });
 * await queue.close();
 * ```
 */
export interface ValidationIssue {
  /** What checked the value: `schema`, `validation` or `transformation`. */
  readonly kind: string;
  /** The check, such as `strict_object`, `min_value` or `check`. */
  readonly type: string;
  /** The value that failed the check. */
  readonly input: unknown;
  /** What the check expected, such as `>=1`, or `null`. */
  readonly expected: string | null;
  /** What it received, such as `0`. */
  readonly received: string;
  /** The rule that was broken, such as `must be >= 1`. */
  readonly message: string;
  /** Where the value is, outermost key first; absent when it is the input itself. */
  readonly path?: readonly { readonly key: unknown }[] | undefined;
}

/**
 * Thrown when an input fails validation: options, payloads, names, cron patterns and the like.
 * The message names the input, the field and the rule (`Invalid enqueue options: priority must be
 * a TaskPriority ...`); nothing has been written. It is a `TypeError`, so code that catches
 * `TypeError` keeps working; the HTTP API answers it with 400 and the CLI with exit code 2.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue, ValidationError } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * try {
 *   await queue.enqueue({ name: "Job", taskType: "job", priority: 7 as never });
 * } catch (error) {
 *   console.log(error instanceof ValidationError); // true
 *   console.log(error instanceof TypeError); // true
 *   if (error instanceof ValidationError) console.log(error.issues[0]?.message);
 * }
 * await queue.close();
 * ```
 */
export class ValidationError extends TypeError {
  /**
   * The valibot issues behind the error, one per failed rule (each with its `path`, `message`,
   * `input` ...). Empty when the check was not a schema, such as a cron pattern croner refused.
   */
  readonly issues: readonly ValidationIssue[];
  /**
   * Creates the error.
   *
   * @param message What was invalid and why, starting with `Invalid`.
   * @param options The valibot issues, and a `cause`.
   */
  constructor(
    message: string,
    options: ErrorOptions & { issues?: readonly ValidationIssue[] } = {},
  ) {
    super(message, options);
    this.name = "ValidationError";
    this.issues = options.issues ?? [];
  }
}

/**
 * Thrown when a task is completed, failed or heartbeated through a lease that is no longer the
 * task's current one: the lease expired and another worker claimed the task, or the task was
 * finished by someone else. Nothing is changed.
 *
 * @example Usage
 * ```ts
 * import { LeaseLostError, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.enqueue({ name: "Job", taskType: "job" });
 * const task = (await queue.dequeue())!;
 * await queue.completeTask(task, "done");
 * try {
 *   await queue.completeTask(task, "again");
 * } catch (error) {
 *   console.log(error instanceof LeaseLostError); // true
 * }
 * await queue.close();
 * ```
 */
export class LeaseLostError extends Error {
  /** The task whose lease was lost. */
  readonly taskId: number;
  /**
   * Creates the error.
   *
   * @param action The verb that was refused, such as `complete`.
   * @param taskId The task id.
   * @param reason Why the lease is no longer held.
   */
  constructor(action: string, taskId: number, reason: string) {
    super(`Cannot ${action} task ${taskId}: ${reason}`);
    this.name = "LeaseLostError";
    this.taskId = taskId;
  }
}

/**
 * Thrown when a transition is asked of a task that does not exist.
 *
 * @example Usage
 * ```ts
 * import { TaskNotFoundError, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * try {
 *   await queue.cancelTask(404);
 * } catch (error) {
 *   console.log(error instanceof TaskNotFoundError); // true
 * }
 * await queue.close();
 * ```
 */
export class TaskNotFoundError extends Error {
  /** The id that was not found. */
  readonly taskId: number;
  /**
   * Creates the error.
   *
   * @param action The verb that was refused, such as `cancel`.
   * @param taskId The task id.
   */
  constructor(action: string, taskId: number) {
    super(`Cannot ${action} task ${taskId}: no such task`);
    this.name = "TaskNotFoundError";
    this.taskId = taskId;
  }
}

/**
 * Thrown when a transition does not apply to the task's current status, such as cancelling a
 * completed task or redriving a pending one. Nothing is changed.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue, TaskStateError } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const id = await queue.enqueue({ name: "Job", taskType: "job" });
 * try {
 *   await queue.retryTask(id); // still pending
 * } catch (error) {
 *   console.log(error instanceof TaskStateError); // true
 * }
 * await queue.close();
 * ```
 */
export class TaskStateError extends Error {
  /** The task id. */
  readonly taskId: number;
  /** The status the task had when the transition was refused. */
  readonly status: TaskStatus | null;
  /**
   * Creates the error.
   *
   * @param action The verb that was refused, such as `cancel`.
   * @param taskId The task id.
   * @param status The task's current status.
   * @param reason Why, when more than the status needs saying.
   * @param options Standard error options, such as `cause`.
   */
  constructor(
    action: string,
    taskId: number,
    status: TaskStatus | null,
    reason?: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot ${action} task ${taskId}: ${reason ?? `it is ${status}`}`, options);
    this.name = "TaskStateError";
    this.taskId = taskId;
    this.status = status;
  }
}

/**
 * Thrown by {@linkcode TaskQueue.waitFor} when the task has not finished within `timeoutMs`. The
 * task is left as it is (still pending or running).
 *
 * @example Usage
 * ```ts
 * import { TaskQueue, WaitTimeoutError } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const id = await queue.enqueue({ name: "Job", taskType: "job" });
 * try {
 *   await queue.waitFor(id, { timeoutMs: 10 });
 * } catch (error) {
 *   console.log(error instanceof WaitTimeoutError); // true
 * }
 * await queue.close();
 * ```
 */
export class WaitTimeoutError extends Error {
  /** The task waited for. */
  readonly taskId: number;
  /** How long it was waited for, in ms. */
  readonly timeoutMs: number;
  /** Its status when the wait gave up. */
  readonly status: TaskStatus;
  /**
   * Creates the error.
   *
   * @param taskId The task id.
   * @param timeoutMs How long it was waited for.
   * @param status Its status then.
   */
  constructor(taskId: number, timeoutMs: number, status: TaskStatus) {
    super(`Cannot wait for task ${taskId}: still ${status} after ${timeoutMs} ms`);
    this.name = "WaitTimeoutError";
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
    this.status = status;
  }
}

/**
 * Thrown by a handler to fail the attempt and ask for the next one after `delayMs` (when retries
 * are left), instead of the task's retry policy.
 *
 * @example Usage
 * ```ts
 * import { RetryableError } from "@tasklite/tasklite";
 *
 * const handler = async () => {
 *   const response = await fetch("https://api.example.com");
 *   if (response.status === 429) {
 *     const seconds = Number(response.headers.get("retry-after") ?? 60);
 *     throw new RetryableError("rate limited", { delayMs: seconds * 1000 });
 *   }
 * };
 * ```
 */
export class RetryableError extends Error {
  /** The delay before the next attempt, if set. */
  readonly delayMs: number | undefined;
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options The delay before the next attempt, and a `cause`.
   */
  constructor(message: string, options: ErrorOptions & { delayMs?: number } = {}) {
    super(message, options);
    this.name = "RetryableError";
    this.delayMs = options.delayMs;
  }
}

/**
 * Thrown by a handler to fail the task for good: no further attempts, whatever its retries.
 *
 * @example Usage
 * ```ts
 * import { PermanentError } from "@tasklite/tasklite";
 *
 * const handler = (payload: { email?: string }) => {
 *   if (!payload.email) throw new PermanentError("payload has no email address");
 * };
 * ```
 */
export class PermanentError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options Standard error options, such as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/**
 * The storage conditions a {@linkcode StorageError} reports, one source for its `code`:
 *
 * - `full`: the disk (or `PRAGMA max_page_count`) is full; nothing of the failed call was written.
 *   The queue works again once space frees, without reopening.
 * - `busy`: another connection held the write lock longer than `busyTimeoutMs`.
 * - `corrupt`: the file is not a tasklite queue, not SQLite at all, or fails its integrity check.
 * - `io`: the operating system reported an I/O error, or the file cannot be opened (a missing
 *   folder, no permission).
 * - `readonly`: the file or its folder cannot be written.
 *
 * @example Usage
 * ```ts
 * import { STORAGE_ERROR_CODES } from "@tasklite/tasklite";
 *
 * console.log(STORAGE_ERROR_CODES.includes("full")); // true
 * ```
 */
export const STORAGE_ERROR_CODES = ["full", "busy", "corrupt", "io", "readonly"] as const;

/**
 * The condition behind a {@linkcode StorageError}: one of {@linkcode STORAGE_ERROR_CODES}.
 *
 * @example Usage
 * ```ts
 * import type { StorageErrorCode } from "@tasklite/tasklite";
 *
 * const transient: StorageErrorCode[] = ["busy", "full"];
 * ```
 */
export type StorageErrorCode = typeof STORAGE_ERROR_CODES[number];

/**
 * Thrown when the storage, not the call, failed: the disk is full, the database stayed locked
 * longer than `busyTimeoutMs`, the file is corrupt or not a queue, an I/O error, a read-only file.
 * `code` says which (match on it, never on the message); the driver's own error is the `cause`.
 * The failed call wrote nothing (its transaction was rolled back), so it can be retried as is
 * once the condition clears (`busy`, `full`), on the same queue object.
 *
 * @example Usage
 * ```ts
 * import { StorageError, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * try {
 *   await queue.enqueue({ name: "Job", taskType: "job" });
 * } catch (error) {
 *   if (!(error instanceof StorageError)) throw error;
 *   if (error.code === "busy" || error.code === "full") {
 *     // transient: try again later
 *   }
 * }
 * await queue.close();
 * ```
 */
export class StorageError extends Error {
  /** The storage condition, one of {@linkcode STORAGE_ERROR_CODES}. */
  readonly code: StorageErrorCode;
  /**
   * Creates the error. The message reads `Storage failed (full): database or disk is full`,
   * or `Cannot complete task 42: database or disk is full` when `action` and `taskId` are given.
   *
   * @param code The storage condition.
   * @param detail What the storage said, such as the driver's message.
   * @param options The driver's error as `cause`, and optionally the refused `action` and
   * `taskId`.
   */
  constructor(
    code: StorageErrorCode,
    detail: string,
    options: ErrorOptions & { action?: string; taskId?: number } = {},
  ) {
    const { action, taskId, ...errorOptions } = options;
    const subject = action === undefined
      ? `Storage failed (${code})`
      : `Cannot ${action}${taskId === undefined ? "" : ` task ${taskId}`}`;
    super(`${subject}: ${detail}`, errorOptions);
    this.name = "StorageError";
    this.code = code;
  }
}
