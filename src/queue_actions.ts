/**
 * {@linkcode QueueActions}: the operator actions a dashboard offers beyond the verbs of
 * {@linkcode QueueOperations}: cancel every pending task that matches a filter, run a scheduled
 * task now, run a schedule now, and pause or resume a schedule. {@linkcode TaskQueue} extends it;
 * use `TaskQueue`.
 *
 * @module
 */

import type { Schedule } from "./engine.ts";
import { QueueOperations } from "./queue_operations.ts";
import type { ListOptions } from "./task_query.ts";
import { expect } from "./_outcomes.ts";
import { coreOf } from "./_queue_core.ts";
import { storeTasks } from "./_store_tasks.ts";
import { type Task, TaskStatus } from "./task.ts";
import {
  CancelPendingSchema,
  IdSchema,
  parse,
  parseEnqueue,
  ScheduleNameSchema,
} from "./_validation.ts";

/** The options of {@linkcode QueueActions.cancelPending}: which pending tasks, and how many. */
export interface CancelPendingOptions extends Omit<ListOptions, "sort"> {
  /**
   * At most this many (in claim order, or soonest due first for `due: "scheduled"`).
   *
   * @default {1000}
   */
  limit?: number | undefined;
}

/**
 * The dashboard's actions on a queue; {@linkcode TaskQueue} is the class to construct.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.enqueue({ name: "Old report", taskType: "report" });
 * console.log((await queue.cancelPending({ taskType: "report" })).length); // 1
 * await queue.close();
 * ```
 */
export class QueueActions extends QueueOperations {
  /**
   * Makes a pending task that is due later due now (a scheduled task, or a retry waiting out its
   * backoff); it keeps its priority.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({ name: "Later", taskType: "job", scheduledAt: Date.now() + 3_600_000 });
   * const task = await queue.promoteTask(id);
   * console.log(task.scheduledAt <= Date.now()); // true
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @returns The task, due now.
   * @throws {TaskStateError} The task is not pending, or is due already.
   * @throws {TaskNotFoundError} No such task.
   */
  async promoteTask(id: number): Promise<Task> {
    const engine = coreOf(this).engine("promote");
    parse(IdSchema, id, "task id");
    const now = coreOf(this).now();
    const [outcome] = await engine.apply([{ kind: "promote", id }], now);
    const task = expect(outcome, "promote", { id, attempts: null });
    coreOf(this).wake([task], now);
    return task;
  }

  /**
   * Cancels every pending task that matches (the same filters as
   * {@linkcode TaskQueue.getTasksByStatus}), up to `limit`, in one transaction.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueueMany([{ name: "a", taskType: "email" }, { name: "b", taskType: "sms" }]);
   * const cancelled = await queue.cancelPending({ taskType: "email" });
   * console.log(cancelled.map((t) => t.name)); // ["a"]
   * await queue.close();
   * ```
   *
   * @param options Which pending tasks (search, task type, priority, due) and at most how many.
   * @returns The cancelled tasks.
   * @throws {ValidationError} Bad options.
   */
  async cancelPending(options: CancelPendingOptions = {}): Promise<Task[]> {
    const core = coreOf(this);
    const engine = core.engine("cancel");
    const parsed = parse(CancelPendingSchema, options, "cancelPending options");
    const now = core.now();
    const found = await engine.list(TaskStatus.PENDING, parsed.limit ?? 1000, 0, {
      search: parsed.search || null,
      taskType: parsed.taskType ?? null,
      priority: parsed.priority ?? null,
      due: parsed.due ?? null,
      now,
      sort: null,
    });
    if (found.length === 0) return [];
    const outcomes = await engine.apply(found.map((t) => ({ kind: "cancel", id: t.id })), now);
    // Not ok: claimed or cancelled meanwhile.
    const cancelled = outcomes.flatMap((o) =>
      o.ok && o.task.status === TaskStatus.CANCELLED ? [o.task] : []
    );
    for (const task of cancelled) core.events.emit("cancelled", { task });
    return cancelled;
  }

  /**
   * Enqueues a schedule's task now, outside its slots (its next slot stays as it is).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.schedule("nightly", "0 3 * * *", { taskType: "report" });
   * const id = await queue.runSchedule("nightly");
   * console.log((await queue.getTask(id!))?.taskType); // "report"
   * await queue.close();
   * ```
   *
   * @param name The schedule's name.
   * @returns The enqueued task's id, or `null` when there is no such schedule.
   */
  async runSchedule(name: string): Promise<number | null> {
    parse(ScheduleNameSchema, name, "schedule name");
    const found = await this.#find(name);
    if (!found) return null;
    const parsed = [parseEnqueue(templateOf(found), "schedule task")];
    const [id] = await storeTasks(coreOf(this), coreOf(this).engine("enqueue"), {
      parsed,
      where: {},
    });
    this.logger.info("Schedule run now", { name, taskId: id });
    return id!;
  }

  /**
   * Pauses a schedule (it keeps its definition and fires no slot) or, with `paused: false`,
   * resumes it from its next slot after now.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.schedule("nightly", "0 3 * * *", { taskType: "report" });
   * console.log((await queue.pauseSchedule("nightly"))?.paused); // true
   * await queue.close();
   * ```
   *
   * @param name The schedule's name.
   * @param paused Pause (default) or resume.
   * @returns The schedule as stored, or `null` when there is no such schedule.
   */
  async pauseSchedule(name: string, paused = true): Promise<Schedule | null> {
    parse(ScheduleNameSchema, name, "schedule name");
    const found = await this.#find(name);
    if (!found) return null;
    return await this.schedule(name, found.cron, {
      ...templateOf(found),
      ...(found.timezone !== null ? { timezone: found.timezone } : {}),
      paused: paused === true,
    });
  }

  async #find(name: string): Promise<Schedule | undefined> {
    return (await coreOf(this).engine("read schedules of").schedules()).find((s) =>
      s.name === name
    );
  }
}

/** The task a schedule enqueues, as enqueue options. */
function templateOf(s: Schedule) {
  return {
    name: s.taskName,
    taskType: s.taskType,
    payload: s.payload,
    priority: s.priority,
    maxRetries: s.maxRetries,
    ...(s.timeoutMs !== null ? { timeoutMs: s.timeoutMs } : {}),
  };
}
