/**
 * {@linkcode QueueOperations}: the operator half of {@linkcode TaskQueue}, the verbs that read and
 * steer a queue rather than move one task: lookups, counts and lists, pauses and limits,
 * schedules, retention and metrics. `TaskQueue` extends it with the task lifecycle
 * (`queue.ts`); use `TaskQueue`.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import { planFirings } from "./core/schedule.ts";
import { nextCronSlot } from "./cron.ts";
import type { Engine, Schedule, TypeControl, TypeLimits } from "./engine.ts";
import type { QueueEventName, QueueListener } from "./events.ts";
import type { Logger } from "./logger.ts";
import type { QueueMetrics } from "./metrics.ts";
import type { Notifier } from "./notifier.ts";
import type {
  LimitOptions,
  OpenOptions,
  PruneOptions,
  QueueOptions,
  ScheduleOptions,
} from "./queue_options.ts";
import { type JsonValue, type QueueStats, type Task, TaskStatus } from "./task.ts";
import { attachCore, QueueCore } from "./_queue_core.ts";
import {
  CronSchema,
  IdSchema,
  LimitSchema,
  LimitsSchema,
  ListOptionsSchema,
  OffsetSchema,
  OpenOptionsSchema,
  parse,
  PruneSchema,
  ScheduleNameSchema,
  ScheduleSchema,
  StatusSchema,
  TaskTypeSchema,
} from "./_validation.ts";
import { ValidationError } from "./errors.ts";

const RETENTION_BATCH = 10_000;
const DEFAULT_PRUNE_STATUSES = [TaskStatus.COMPLETED, TaskStatus.CANCELLED] as const;

/**
 * The operator verbs of a queue; {@linkcode TaskQueue} adds the task lifecycle. Construct a
 * `TaskQueue`, not this.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.pause("reports");
 * console.log(await queue.getQueueStats()); // { pending: 0, running: 0, ... }
 * await queue.close();
 * ```
 */
export class QueueOperations {
  readonly #core: QueueCore;
  /** The clock of this queue and its workers. */
  readonly clock: Clock;
  /** Wakes idle workers of this queue when tasks may be ready. */
  readonly notifier: Notifier;
  /** Where this queue and its workers log. */
  readonly logger: Logger;

  /**
   * Wraps an engine. Most callers want {@linkcode TaskQueue.open}.
   *
   * @param engine The storage engine.
   * @param options The queue's options (storage options such as `path` are accepted and ignored:
   * they are the engine's).
   */
  constructor(engine: Engine, options: QueueOptions | OpenOptions = {}) {
    parse(OpenOptionsSchema, options, "open options");
    this.#core = new QueueCore(engine, options);
    attachCore(this, this.#core);
    this.clock = this.#core.clock;
    this.notifier = this.#core.notifier;
    this.logger = this.#core.logger;
  }

  /**
   * The name of the storage engine, such as `sqlite (node:sqlite)`.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:", { driver: "node:sqlite" });
   * console.log(queue.engine); // "sqlite (node:sqlite)"
   * await queue.close();
   * ```
   *
   * @returns The engine's name.
   */
  get engine(): string {
    return this.#core.engine("name the engine of").name;
  }

  /**
   * The earliest time something is due: a pending task, a lease to recover or a schedule slot
   * (`null` when nothing is). Alarm-driven workers (a Durable Object alarm, a one-shot timer) sleep
   * until then.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Later", taskType: "job", scheduledAt: 2_000_000_000_000 });
   * console.log(await queue.nextWakeAt()); // 2000000000000
   * await queue.close();
   * ```
   *
   * @returns Epoch ms, or `null`.
   */
  async nextWakeAt(): Promise<number | null> {
    return await this.#core.engine("read the next wake time of").nextWakeAt();
  }

  /**
   * The queue's clock, in epoch milliseconds.
   *
   * @returns Now.
   */
  now(): number {
    return this.#core.now();
  }

  /**
   * One task.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.getTask(1)); // null
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @returns The task, or `null`.
   */
  async getTask(id: number): Promise<Task | null> {
    const engine = this.#core.engine("get");
    parse(IdSchema, id, "task id");
    return await engine.get(id);
  }

  /**
   * Counts of tasks per status; every status is present.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.getQueueStats());
   * // { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }
   * await queue.close();
   * ```
   *
   * @returns The counts.
   */
  async getQueueStats(): Promise<QueueStats> {
    return await this.#core.engine("count").stats();
  }

  /**
   * Tasks with a status, newest first.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue, TaskStatus } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const recent = await queue.getTasksByStatus(TaskStatus.COMPLETED, 10);
   * console.log(recent.length); // 0
   * await queue.close();
   * ```
   *
   * @param status The status.
   * @param limit The most tasks to return.
   * @param offset How many to skip, for paging.
   * @param options `search`: keep tasks whose name or task type contains this text (any case).
   * @returns The tasks.
   */
  async getTasksByStatus(
    status: TaskStatus,
    limit = 100,
    offset = 0,
    options: { search?: string } = {},
  ): Promise<Task[]> {
    const engine = this.#core.engine("list");
    parse(StatusSchema, status, "task status");
    parse(LimitSchema, limit, "list limit");
    parse(OffsetSchema, offset, "list offset");
    const { search } = parse(ListOptionsSchema, options, "list options");
    return await engine.list(status, limit, offset, search || null);
  }

  /**
   * Pauses a task type, or with no argument the whole queue: workers in every process stop
   * claiming it until {@linkcode TaskQueue.resume}. Running tasks go on. Persisted in the file.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.pause("send_email");
   * await queue.enqueue({ name: "Hi", taskType: "send_email" });
   * console.log(await queue.dequeue()); // null
   * await queue.resume("send_email");
   * await queue.close();
   * ```
   *
   * @param taskType The task type, or `"*"` (the default) for the whole queue.
   */
  async pause(taskType = "*"): Promise<void> {
    const engine = this.#core.engine("pause");
    parse(TaskTypeSchema, taskType, "task type");
    await engine.setPaused(taskType, this.#core.now());
    this.logger.info("Paused", { taskType });
  }

  /**
   * Resumes a paused task type, or with no argument the whole queue (types paused one by one
   * stay paused).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.pause();
   * await queue.resume();
   * await queue.close();
   * ```
   *
   * @param taskType The task type, or `"*"` (the default) for the whole queue.
   */
  async resume(taskType = "*"): Promise<void> {
    const engine = this.#core.engine("resume");
    parse(TaskTypeSchema, taskType, "task type");
    await engine.setPaused(taskType, null);
    this.logger.info("Resumed", { taskType });
  }

  /**
   * Limits a task type across every worker and process on the queue: how many may run at once
   * and how many may start per interval. Persisted in the file. Omitted or `null` limits are
   * cleared.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.setLimits("external_api", { rate: { max: 10, intervalMs: 1000 } });
   * await queue.setLimits("video_encode", { concurrency: 2 });
   * await queue.close();
   * ```
   *
   * @param taskType The task type.
   * @param limits The limits.
   */
  async setLimits(taskType: string, limits: LimitOptions): Promise<void> {
    const engine = this.#core.engine("set limits of");
    parse(TaskTypeSchema, taskType, "task type");
    if (taskType === "*") {
      throw new ValidationError('Invalid task type: limits apply to one type, not "*"');
    }
    const parsed = parse(LimitsSchema, limits, "limits");
    const normalized: TypeLimits = {
      concurrency: parsed.concurrency ?? null,
      rate: parsed.rate ?? null,
    };
    await engine.setLimits(taskType, normalized);
    this.logger.info("Limits set", { taskType, ...normalized });
  }

  /**
   * Pause flags and limits per task type (`"*"` is the whole queue).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.pause("reports");
   * console.log((await queue.getControls())[0]?.taskType); // "reports"
   * await queue.close();
   * ```
   *
   * @returns The controls.
   */
  async getControls(): Promise<TypeControl[]> {
    return await this.#core.engine("read controls of").controls();
  }

  /**
   * Creates or replaces a recurring schedule, stored in the file. Each slot of the cron pattern
   * enqueues one task, once, however many processes run {@linkcode TaskQueue.runSchedules} (as
   * workers do). After downtime, only the latest missed slot fires.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const schedule = await queue.schedule("daily-cleanup", "0 3 * * *", {
   *   taskType: "cleanup",
   *   payload: { olderThanDays: 30 },
   *   timezone: "Europe/Paris",
   * });
   * console.log(new Date(schedule.nextRunAt!).toISOString());
   * await queue.close();
   * ```
   *
   * @param name The schedule's unique name.
   * @param cron A cron pattern: 5 fields, or 6 with seconds first.
   * @param options What to enqueue, and the time zone.
   * @returns The stored schedule with its next slot.
   */
  async schedule(name: string, cron: string, options: ScheduleOptions): Promise<Schedule> {
    const engine = this.#core.engine("schedule");
    parse(ScheduleNameSchema, name, "schedule name");
    parse(CronSchema, cron, "cron pattern");
    const parsed = parse(ScheduleSchema, options, "schedule options");
    const now = this.#core.now();
    const timezone = parsed.timezone ?? null;
    const nextRunAt = nextCronSlot(cron, now, timezone);
    const schedule = await engine.upsertSchedule({
      name,
      cron,
      timezone,
      taskType: parsed.taskType,
      taskName: parsed.name ?? name,
      payload: parsed.payload as JsonValue,
      priority: parsed.priority,
      maxRetries: parsed.maxRetries,
      timeoutMs: parsed.timeoutMs ?? null,
      nextRunAt,
      paused: parsed.paused,
    }, now);
    this.logger.info("Schedule saved", { name, cron, timezone, nextRunAt });
    return schedule;
  }

  /**
   * Removes a schedule. Tasks it already enqueued stay.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.unschedule("nope")); // false
   * await queue.close();
   * ```
   *
   * @param name The schedule's name.
   * @returns `true` if it existed.
   */
  async unschedule(name: string): Promise<boolean> {
    const engine = this.#core.engine("unschedule");
    parse(ScheduleNameSchema, name, "schedule name");
    return await engine.deleteSchedule(name);
  }

  /**
   * Every schedule, by name.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.getSchedules()); // []
   * await queue.close();
   * ```
   *
   * @returns The schedules.
   */
  async getSchedules(): Promise<Schedule[]> {
    return await this.#core.engine("read schedules of").schedules();
  }

  /**
   * Enqueues a task for each schedule whose slot has come, once per slot across every process.
   * Workers call it on each poll; call it yourself from `Deno.cron` or a timer when no worker runs.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.runSchedules()); // []
   * await queue.close();
   * ```
   *
   * @returns The enqueued task ids.
   */
  async runSchedules(): Promise<number[]> {
    const engine = this.#core.engine("run schedules of");
    const now = this.#core.now();
    // Most polls find nothing due: a read first, the write lock only for due slots.
    const due = await engine.dueSchedules(now);
    if (due.length === 0) return [];
    const fired = await engine.fireSchedules(planFirings(due, now), now);
    for (const slot of fired) {
      this.logger.info("Schedule fired", { name: slot.name, slot: slot.slot, taskId: slot.taskId });
      this.#core.events.emit("enqueued", {
        taskId: slot.taskId,
        name: slot.taskName,
        taskType: slot.taskType,
        priority: slot.priority,
        scheduledAt: slot.slot,
      });
    }
    this.#core.wake(
      fired.map((slot) => ({ taskType: slot.taskType, status: "pending", scheduledAt: slot.slot })),
      now,
    );
    return fired.map((slot) => slot.taskId);
  }

  /**
   * Deletes finished tasks that finished at least `olderThanMs` ago, oldest first, so that a busy
   * queue's file does not grow without bound.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const deleted = await queue.prune({ olderThanMs: 7 * 24 * 3_600_000 });
   * console.log(deleted); // 0
   * await queue.close();
   * ```
   *
   * @param options Age, statuses (default completed and cancelled) and a batch limit.
   * @returns How many tasks were deleted.
   */
  async prune(options: PruneOptions): Promise<number> {
    const engine = this.#core.engine("prune");
    const parsed = parse(PruneSchema, options, "prune options");
    const deleted = await engine.prune(
      this.#core.now() - parsed.olderThanMs,
      parsed.statuses ?? DEFAULT_PRUNE_STATUSES,
      parsed.limit ?? 10_000,
    );
    if (deleted > 0) this.logger.info("Pruned", { deleted, olderThanMs: parsed.olderThanMs });
    return deleted;
  }

  /**
   * Periodic upkeep, run by workers on each poll: fires due schedules, and applies the retention
   * policy when it is due.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:", { retention: { olderThanMs: 86_400_000 } });
   * console.log(await queue.maintain()); // { scheduled: [], pruned: 0 }
   * await queue.close();
   * ```
   *
   * @returns The tasks schedules enqueued, and how many finished tasks were pruned.
   */
  async maintain(): Promise<{ scheduled: number[]; pruned: number }> {
    const scheduled = await this.runSchedules();
    let pruned = 0;
    const retention = this.#core.retention;
    if (
      retention && this.#core.now() - this.#core.lastPruneAt >= (retention.intervalMs ?? 60_000)
    ) {
      this.#core.lastPruneAt = this.#core.now();
      // Batches of 10,000 (one short transaction each) until the backlog is gone, so a busy queue
      // cannot outgrow its retention; at most 100 batches per call.
      for (let batch = 0; batch < 100; batch++) {
        const deleted = await this.prune({
          olderThanMs: retention.olderThanMs,
          limit: RETENTION_BATCH,
          ...(retention.statuses ? { statuses: retention.statuses } : {}),
        });
        pruned += deleted;
        if (deleted < RETENTION_BATCH) break;
      }
    }
    return { scheduled, pruned };
  }

  /**
   * Subscribes to an in-process event: `enqueued`, `started`, `completed`, `failed` (an attempt
   * failed and will be retried), `dead` (no retries left), `retried`, `cancelled`, `progress`.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const off = queue.on("completed", ({ task }) => console.log(`#${task.id} done`));
   * off();
   * await queue.close();
   * ```
   *
   * @param event The event name.
   * @param listener Called with each event of this queue in this process.
   * @returns A function that unsubscribes.
   */
  on<E extends QueueEventName>(event: E, listener: QueueListener<E>): () => void {
    return this.#core.events.on(event, listener);
  }

  /**
   * Counters and durations per task type (this process's, since open) with live pending and
   * running counts (every process's). Render them for Prometheus with {@linkcode toPrometheus}.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const metrics = await queue.metrics();
   * console.log(metrics.totals.pending); // 0
   * await queue.close();
   * ```
   *
   * @returns A snapshot.
   */
  async metrics(): Promise<QueueMetrics> {
    const engine = this.#core.engine("read metrics of");
    const [totals, live] = await Promise.all([engine.stats(), engine.liveCounts()]);
    return this.#core.metrics.snapshot(totals, live);
  }

  /**
   * Closes the queue. Tasks stay in the file; running ones come back after their lease if they are
   * not completed by another connection. Calling it again does nothing.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#core.detach()?.close();
  }
}
