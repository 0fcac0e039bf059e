/**
 * {@linkcode TaskQueue}: the public API over a storage {@linkcode Engine}. This file holds the life
 * of a run (enqueue, claim, heartbeat, progress, complete, fail, release); the operator verbs
 * (pauses, limits, schedules, retention, cancel, redrive, recover) are inherited from
 * {@linkcode QueueOperations}, the reads and the lifecycle of the queue itself (open state, events,
 * close) from {@linkcode QueueReader}. Every input is validated before anything changes; the retry
 * decision is the core's (`decideRetry`); an engine's refusals become named errors.
 *
 * @module
 */

import { claimTasks } from "./_claim_tasks.ts";
import { toClock } from "./clock.ts";
import type { FailOptions } from "./core/retry.ts";
import type { Transition } from "./engine.ts";
import { ValidationError } from "./errors.ts";
import type {
  DequeueOptions,
  EnqueueOptions,
  OpenOptions,
  TaskRef,
  TransactionOptions,
} from "./queue_options.ts";
import { QueueActions } from "./queue_actions.ts";
import { openEngine } from "./_open_engine.ts";
import { expect, refusal } from "./_outcomes.ts";
import { coreOf } from "./_queue_core.ts";
import { recordFailure } from "./_record_failure.ts";
import { storeTasks } from "./_store_tasks.ts";
import type { JsonValue, Task } from "./task.ts";
import {
  FailOptionsSchema,
  FailureSchema,
  IdSchema,
  OpenOptionsSchema,
  parse,
  parseEnqueue,
  parseEnqueueMany,
  ProgressSchema,
} from "./_validation.ts";
import { parseResult } from "./_json_data.ts";

// The option types stay importable from here, where they used to live.
export type * from "./queue_options.ts";
export type { FailOptions };

/**
 * A durable task queue in one SQLite file.
 *
 * @example Enqueue, claim, complete
 * ```ts
 * import { TaskPriority, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.enqueue({
 *   name: "Send welcome email",
 *   taskType: "send_email",
 *   payload: { to: "user@example.com" },
 *   priority: TaskPriority.HIGH,
 * });
 * const task = await queue.dequeue();
 * if (task) await queue.completeTask(task, { sent: true });
 * console.log(await queue.getQueueStats()); // { pending: 0, running: 0, completed: 1, ... }
 * await queue.close();
 * ```
 */
export class TaskQueue extends QueueActions {
  /**
   * Opens (creating it if needed) a queue in a SQLite file, on the runtime's built-in SQLite, or
   * over a caller's open database (`database`: a `DatabaseSync`, a bun `Database`, a Durable
   * Object's `ctx.storage` or a driver). The storage engine is loaded only now.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:", { synchronous: "FULL" });
   * await queue.close();
   * ```
   *
   * @param pathOrOptions The file (default `"tasks.db"`, or `":memory:"`), or all options.
   * @param options More options when the first argument is a path.
   * @returns The open queue.
   */
  static async open(
    pathOrOptions: string | OpenOptions = {},
    options: OpenOptions = {},
  ): Promise<TaskQueue> {
    const all = typeof pathOrOptions === "string"
      ? { ...options, path: pathOrOptions }
      : { ...pathOrOptions, ...options };
    parse(OpenOptionsSchema, all, "open options");
    const engine = await openEngine(all, toClock(all.clock).now());
    let queue: TaskQueue;
    try {
      queue = new TaskQueue(engine, all);
    } catch (error) {
      await engine.close(); // such as a backoff curve exponentialBackoff refuses
      throw error;
    }
    // A clock behind the file's other writers would claim nothing they enqueued: say so.
    const core = coreOf(queue);
    try {
      core.clockWatch.checkWriters(await engine.latestWriteAt(), core.now());
    } catch (error) {
      await queue.close();
      throw error;
    }
    return queue;
  }

  /**
   * Adds a task.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({
   *   name: "Daily cleanup",
   *   taskType: "cleanup",
   *   scheduledAt: new Date(Date.now() + 3_600_000),
   *   maxRetries: 5,
   * });
   * console.log(id); // 1
   * await queue.close();
   * ```
   *
   * @param options The task.
   * @param where Inside a caller's transaction (PostgreSQL), instead of one of the queue's own.
   * @returns Its id (or, for a `uniqueKey` already live, the existing task's id).
   */
  async enqueue(options: EnqueueOptions, where: TransactionOptions = {}): Promise<number> {
    const engine = coreOf(this).engine("enqueue");
    const parsed = [parseEnqueue(options, "enqueue options")];
    const [id] = await storeTasks(coreOf(this), engine, { parsed, where });
    return id!;
  }

  /**
   * Adds many tasks in one transaction: all of them or, if any is invalid, none.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const ids = await queue.enqueueMany([
   *   { name: "Resize 1", taskType: "resize", payload: { image: 1 } },
   *   { name: "Resize 2", taskType: "resize", payload: { image: 2 } },
   * ]);
   * console.log(ids); // [1, 2]
   * await queue.close();
   * ```
   *
   * @param list The tasks.
   * @param where Inside a caller's transaction (PostgreSQL), instead of one of the queue's own.
   * @returns Their ids, in order.
   */
  async enqueueMany(
    list: readonly EnqueueOptions[],
    where: TransactionOptions = {},
  ): Promise<number[]> {
    const engine = coreOf(this).engine("enqueue");
    const parsed = parseEnqueueMany(list, "enqueue options");
    return await storeTasks(coreOf(this), engine, { parsed, where });
  }

  /**
   * Claims the next due task: highest priority first, then earliest `scheduledAt`, then lowest id.
   * The claim is atomic: no other caller, connection or process gets the task while its lease
   * holds. Running tasks whose lease has expired are put back first (counting a failed attempt;
   * due again in their old place, or after their own retry policy's delay).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Job", taskType: "job" });
   * const task = await queue.dequeue({ taskTypes: ["job"], leaseMs: 60_000 });
   * console.log(task?.status); // "running"
   * await queue.close();
   * ```
   *
   * @param options Which tasks and how long a lease.
   * @returns The claimed task, or `null` when none is due.
   */
  async dequeue(options: DequeueOptions = {}): Promise<Task | null> {
    const [task] = await this.dequeueMany(1, options);
    return task ?? null;
  }

  /**
   * Claims up to `limit` due tasks at once, in claim order, in one statement.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueueMany([{ name: "A", taskType: "t" }, { name: "B", taskType: "t" }]);
   * const tasks = await queue.dequeueMany(10);
   * console.log(tasks.length); // 2
   * await queue.close();
   * ```
   *
   * @param limit The most tasks to claim.
   * @param options Which tasks and how long a lease.
   * @returns The claimed tasks, possibly none.
   */
  async dequeueMany(limit: number, options: DequeueOptions = {}): Promise<Task[]> {
    return await claimTasks(coreOf(this), limit, options);
  }

  /**
   * Extends a running task's lease by the duration it was claimed with.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Long job", taskType: "job" });
   * let task = (await queue.dequeue({ leaseMs: 10_000 }))!;
   * task = await queue.heartbeat(task);
   * await queue.close();
   * ```
   *
   * @param task The task as claimed (its lease is checked), or its id.
   * @returns The task with its new `leaseExpiresAt`.
   * @throws {LeaseLostError} The lease was taken over or the task finished.
   */
  async heartbeat(task: TaskRef): Promise<Task> {
    const core = coreOf(this);
    const engine = core.engine("heartbeat");
    const ref = core.ref(task);
    const [outcome] = await engine.apply([{ kind: "heartbeat", ref }], core.now());
    return core.issue(expect(outcome, "heartbeat", ref));
  }

  /**
   * Records a running task's progress (a number such as a percentage, or any JSON data), visible
   * in {@linkcode TaskQueue.getTask} and as a `progress` event.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Import", taskType: "import" });
   * const task = (await queue.dequeue())!;
   * console.log((await queue.progress(task, { rows: 500, of: 1000 })).progress);
   * await queue.close();
   * ```
   *
   * @param task The task as claimed (fenced by its lease), or its id.
   * @param progress The progress.
   * @returns The task with its progress.
   * @throws {LeaseLostError} Given a task object whose lease was taken over.
   */
  async progress(task: TaskRef, progress: unknown): Promise<Task> {
    const core = coreOf(this);
    const engine = core.engine("report progress of");
    const ref = core.ref(task);
    const value = parse(ProgressSchema, progress, "progress") as JsonValue;
    const [outcome] = await engine.apply(
      [{ kind: "progress", ref, progress: value }],
      core.now(),
    );
    const updated = core.issue(expect(outcome, "report progress of", ref));
    core.events.emit("progress", { task: updated, progress: value });
    return updated;
  }

  /**
   * Marks a running task `completed` with its result.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Job", taskType: "job" });
   * const task = (await queue.dequeue())!;
   * const done = await queue.completeTask(task, { ok: true });
   * console.log(done.status); // "completed"
   * await queue.close();
   * ```
   *
   * @param task The task as claimed (fenced by its lease), or its id (any running task).
   * @param result JSON data, stored on the task (checked at run time).
   * @returns The completed task.
   * @throws {LeaseLostError} Given a task object whose lease was taken over.
   * @throws {TaskStateError} Given an id of a task that is not running.
   * @throws {TaskNotFoundError} No such task.
   */
  async completeTask(task: TaskRef, result?: unknown): Promise<Task> {
    const core = coreOf(this);
    const engine = core.engine("complete");
    const ref = core.ref(task);
    const value = parseResult(result, "task result") as JsonValue;
    const [outcome] = await engine.apply(
      [{ kind: "complete", ref, result: value }],
      core.now(),
    );
    const done = expect(outcome, "complete", ref);
    core.events.emit("completed", { task: done });
    return done;
  }

  /**
   * Completes many running tasks in one transaction. Each is fenced by its own lease: one that is
   * stale (or not running) fails alone, with the error {@linkcode TaskQueue.completeTask} would
   * throw, and the others commit. Bad input anywhere throws before anything changes.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueueMany([{ name: "A", taskType: "t" }, { name: "B", taskType: "t" }]);
   * const [a, b] = await queue.dequeueMany(2);
   * const results = await queue.completeMany([{ task: a!, result: 1 }, { task: b!, result: 2 }]);
   * console.log(results.map((r) => r.status)); // ["fulfilled", "fulfilled"]
   * await queue.close();
   * ```
   *
   * @param completions The tasks as claimed (or ids), with their results.
   * @returns One settled result per completion, in order: the completed task, or why not.
   */
  async completeMany(
    completions: readonly { task: TaskRef; result?: unknown }[],
  ): Promise<PromiseSettledResult<Task>[]> {
    const core = coreOf(this);
    const engine = core.engine("complete");
    if (!Array.isArray(completions)) {
      throw new ValidationError("Invalid completions: must be an array of { task, result }");
    }
    const transitions = completions.map((item, i): Transition & { kind: "complete" } => {
      if (typeof item !== "object" || item === null) {
        throw new ValidationError(`Invalid completions[${i}]: must be an object { task, result }`);
      }
      const ref = core.ref(item.task, `completions[${i}].task`);
      const result = parseResult(item.result, `completions[${i}].result`) as JsonValue;
      return { kind: "complete", ref, result };
    });
    if (transitions.length === 0) return [];
    const outcomes = await engine.apply(transitions, core.now());
    return outcomes.map((outcome, i) => {
      if (!outcome.ok) {
        return { status: "rejected", reason: refusal(outcome, "complete", transitions[i]!.ref) };
      }
      core.events.emit("completed", { task: outcome.task });
      return { status: "fulfilled", value: outcome.task };
    });
  }

  /**
   * Records a failed attempt. The task goes back to `pending` after a backoff while it has
   * retries left, or ends `failed` with the error.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Job", taskType: "job", maxRetries: 0 });
   * const task = (await queue.dequeue())!;
   * const failed = await queue.failTask(task, "SMTP timeout");
   * console.log(failed.status, failed.error); // "failed" "SMTP timeout"
   * await queue.close();
   * ```
   *
   * @param task The task as claimed (fenced by its lease), or its id (any running task).
   * @param error What went wrong.
   * @param options Skip the remaining retries, or set this retry's delay.
   * @returns The task after the failure.
   * @throws {LeaseLostError} Given a task object whose lease was taken over.
   * @throws {TaskStateError} Given an id of a task that is not running.
   * @throws {TaskNotFoundError} No such task.
   */
  async failTask(task: TaskRef, error: string | Error, options: FailOptions = {}): Promise<Task> {
    const core = coreOf(this);
    const engine = core.engine("fail");
    const ref = core.ref(task);
    const reason = parse(FailureSchema, error, "task error");
    const parsed = parse(FailOptionsSchema, options, "fail options");
    return await recordFailure(core, engine, { ref, reason, options: parsed });
  }

  /**
   * Gives a claimed task back: `pending`, due now, without counting a failed attempt. For a
   * worker that shuts down before it could run the task.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Job", taskType: "job" });
   * const task = (await queue.dequeue())!;
   * console.log((await queue.release(task)).status); // "pending"
   * await queue.close();
   * ```
   *
   * @param task The task as claimed (fenced by its lease), or its id.
   * @returns The pending task.
   * @throws {LeaseLostError} Given a task object whose lease was taken over.
   */
  async release(task: TaskRef): Promise<Task> {
    const core = coreOf(this);
    const engine = core.engine("release");
    const ref = core.ref(task);
    const now = core.now();
    const [outcome] = await engine.apply([{ kind: "release", ref }], now);
    const released = expect(outcome, "release", ref);
    core.wake([released], now);
    return released;
  }

  /**
   * Of these running tasks, the ones asked to cancel: workers poll it for the tasks they run.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({ name: "Job", taskType: "job" });
   * await queue.dequeue();
   * await queue.cancelTask(id);
   * console.log(await queue.cancelRequested([id])); // [1]
   * await queue.close();
   * ```
   *
   * @param ids Task ids.
   * @returns The ids with a pending cancel request.
   */
  async cancelRequested(ids: readonly number[]): Promise<number[]> {
    const engine = coreOf(this).engine("check cancellations");
    for (const id of ids) parse(IdSchema, id, "task id");
    return await engine.cancelRequested(ids);
  }
}
