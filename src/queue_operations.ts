/**
 * {@linkcode QueueOperations}: the operator verbs of {@linkcode TaskQueue}, which steer the queue
 * and redrive tasks rather than run them: pauses and limits, schedules, retention, cancel, redrive
 * and recovery. `TaskQueue` extends it with the task lifecycle (`queue.ts`); use `TaskQueue`.
 *
 * @module
 */

import { BUCKET_MS } from "./core/buckets.ts";
import { planFirings } from "./core/schedule.ts";
import { nextCronSlot } from "./cron.ts";
import type { Schedule, TypeLimits } from "./engine.ts";
import { ValidationError } from "./errors.ts";
import type {
  LimitOptions,
  PruneOptions,
  ScheduleOptions,
  WorkerRegistration,
} from "./queue_options.ts";
import { QueueReader } from "./queue_reader.ts";
import { expect } from "./_outcomes.ts";
import { coreOf } from "./_queue_core.ts";
import { recoverDeadWorkers, registerWorker } from "./_worker_registry.ts";
import { type JsonValue, type Task, TaskStatus } from "./task.ts";
import {
  CronSchema,
  IdSchema,
  LimitsSchema,
  parse,
  PruneSchema,
  RetryFailedSchema,
  ScheduleNameSchema,
  ScheduleSchema,
  TaskTypeSchema,
  WorkerIdSchema,
} from "./_validation.ts";

const RETENTION_BATCH = 10_000;
const DEFAULT_PRUNE_STATUSES = [TaskStatus.COMPLETED, TaskStatus.CANCELLED] as const;

/** How long the per-minute history keeps its buckets without a `historyMs`: two days. */
const DEFAULT_HISTORY_MS = 2 * 86_400_000;
/**
 * The operator verbs of a queue; {@linkcode TaskQueue} adds the task lifecycle and is the class to
 * construct.
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
 */
export class QueueOperations extends QueueReader {
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
    const engine = coreOf(this).engine("pause");
    parse(TaskTypeSchema, taskType, "task type");
    await engine.setPaused(taskType, coreOf(this).now());
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
    const engine = coreOf(this).engine("resume");
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
    const engine = coreOf(this).engine("set limits of");
    parse(TaskTypeSchema, taskType, "task type");
    if (taskType === "*") {
      throw new ValidationError('Invalid task type: limits apply to one type, not "*"');
    }
    const parsed = parse(LimitsSchema, limits, "limits");
    const normalized: TypeLimits = {
      concurrency: parsed.concurrency ?? null,
      rate: parsed.rate ?? null,
      concurrencyPerKey: parsed.concurrencyPerKey ?? null,
      ratePerKey: parsed.ratePerKey ?? null,
    };
    await engine.setLimits(taskType, normalized);
    this.logger.info("Limits set", { taskType, ...normalized });
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
    const engine = coreOf(this).engine("schedule");
    parse(ScheduleNameSchema, name, "schedule name");
    parse(CronSchema, cron, "cron pattern");
    const parsed = parse(ScheduleSchema, options, "schedule options");
    const now = coreOf(this).now();
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
    const engine = coreOf(this).engine("unschedule");
    parse(ScheduleNameSchema, name, "schedule name");
    return await engine.deleteSchedule(name);
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
    const engine = coreOf(this).engine("run schedules of");
    const now = coreOf(this).now();
    // Most polls find nothing due: a read first, the write lock only for due slots.
    const due = await engine.dueSchedules(now);
    if (due.length === 0) return [];
    const fired = await engine.fireSchedules(planFirings(due, now), now);
    for (const slot of fired) {
      this.logger.info("Schedule fired", { name: slot.name, slot: slot.slot, taskId: slot.taskId });
      coreOf(this).events.emit("enqueued", {
        taskId: slot.taskId,
        name: slot.taskName,
        taskType: slot.taskType,
        priority: slot.priority,
        scheduledAt: slot.slot,
      });
    }
    coreOf(this).wake(
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
    const engine = coreOf(this).engine("prune");
    const parsed = parse(PruneSchema, options, "prune options");
    const deleted = await engine.prune(
      coreOf(this).now() - parsed.olderThanMs,
      parsed.statuses ?? DEFAULT_PRUNE_STATUSES,
      parsed.limit ?? 10_000,
    );
    if (deleted > 0) this.logger.info("Pruned", { deleted, olderThanMs: parsed.olderThanMs });
    return deleted;
  }

  /**
   * Periodic upkeep, run by workers on each poll: fires due schedules, applies the retention
   * policy when it is due, and once a minute compares the queue's clock with the newest time the
   * file's other writers recorded (a `clock_skew` event when it is behind).
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
    await recoverDeadWorkers(coreOf(this), coreOf(this).engine("maintain"));
    const watch = coreOf(this).clockWatch;
    if (watch.writersCheckDue(coreOf(this).now())) {
      const latest = await coreOf(this).engine("maintain").latestWriteAt();
      watch.checkWriters(latest, coreOf(this).now());
    }
    let pruned = 0;
    const retention = coreOf(this).retention;
    if (
      retention && coreOf(this).now() - coreOf(this).lastPruneAt >= (retention.intervalMs ?? 60_000)
    ) {
      coreOf(this).lastPruneAt = coreOf(this).now();
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
    await this.#keepHistory();
    return { scheduled, pruned };
  }

  /**
   * The history's upkeep: a backlog sample once a minute (the first process to take one for a
   * minute wins), and once every 10 minutes the buckets older than the retention's `historyMs`
   * rolled up into the all-time counts.
   */
  async #keepHistory(): Promise<void> {
    const core = coreOf(this);
    const now = core.now();
    const engine = core.engine("maintain");
    if (now - core.lastSampleAt >= BUCKET_MS) {
      core.lastSampleAt = now;
      await engine.sampleBacklog(
        Math.floor(now / BUCKET_MS) * BUCKET_MS,
        await engine.liveCounts(),
      );
    }
    if (now - core.lastHistoryPruneAt >= 10 * BUCKET_MS) {
      core.lastHistoryPruneAt = now;
      await engine.pruneBuckets(now - (core.retention?.historyMs ?? DEFAULT_HISTORY_MS));
    }
  }

  /**
   * Cancels a task. A pending task ends `cancelled` at once. A running task is marked
   * (`cancelRequestedAt`): its worker aborts the handler's `ctx.signal` within one poll interval
   * and the task ends `cancelled`.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({ name: "Job", taskType: "job" });
   * console.log((await queue.cancelTask(id)).status); // "cancelled"
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @returns The cancelled task, or the running task marked for cancellation.
   * @throws {TaskStateError} The task has already finished.
   * @throws {TaskNotFoundError} No such task.
   */
  async cancelTask(id: number): Promise<Task> {
    const engine = coreOf(this).engine("cancel");
    parse(IdSchema, id, "task id");
    const [outcome] = await engine.apply([{ kind: "cancel", id }], coreOf(this).now());
    const task = expect(outcome, "cancel", { id, attempts: null });
    if (task.status === TaskStatus.CANCELLED) coreOf(this).events.emit("cancelled", { task });
    return task;
  }

  /**
   * Redrives a `failed` or `cancelled` task: back to `pending`, due now, retries reset.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({ name: "Job", taskType: "job" });
   * await queue.cancelTask(id);
   * console.log((await queue.retryTask(id)).status); // "pending"
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @returns The pending task.
   * @throws {TaskStateError} The task is not failed or cancelled, or another live task holds its
   * `uniqueKey`.
   * @throws {TaskNotFoundError} No such task.
   */
  async retryTask(id: number): Promise<Task> {
    const engine = coreOf(this).engine("retry");
    parse(IdSchema, id, "task id");
    const now = coreOf(this).now();
    const [outcome] = await engine.apply([{ kind: "retry", id }], now);
    const task = expect(outcome, "retry", { id, attempts: null });
    coreOf(this).wake([task], now);
    coreOf(this).events.emit("retried", { task });
    return task;
  }

  /**
   * Redrives failed tasks in bulk (dead letters), of one task type or all, oldest first. Tasks
   * whose `uniqueKey` is live again are skipped.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const redriven = await queue.retryFailed({ taskType: "send_email" });
   * console.log(redriven.length); // 0
   * await queue.close();
   * ```
   *
   * @param options Which task type (default all), and at most how many (default 1,000).
   * @returns The redriven tasks.
   */
  async retryFailed(
    options: { taskType?: string | undefined; limit?: number | undefined } = {},
  ): Promise<Task[]> {
    const engine = coreOf(this).engine("retry");
    const parsed = parse(RetryFailedSchema, options, "retryFailed options");
    const ids = await engine.failedIds(parsed.taskType ?? null, parsed.limit ?? 1000);
    if (ids.length === 0) return [];
    const now = coreOf(this).now();
    const outcomes = await engine.apply(ids.map((id) => ({ kind: "retry", id })), now);
    // Not ok: redriven meanwhile, or its uniqueKey is live again.
    const redriven = outcomes.flatMap((outcome) => outcome.ok ? [outcome.task] : []);
    coreOf(this).wake(redriven, now);
    for (const task of redriven) coreOf(this).events.emit("retried", { task });
    return redriven;
  }

  /**
   * Puts running tasks whose lease expired back to `pending` (or `failed` when their retries are
   * spent), counting a failed attempt each: due again at its original due time, so that it keeps
   * its place ahead of the tasks enqueued after it, or, with a retry policy of its own, after the
   * policy's delay (`recoveryRetryAt`). {@linkcode TaskQueue.dequeue} does
   * this itself; call it to recover without claiming. The leases of registered workers that
   * stopped beating ({@linkcode isWorkerAlive}) are ended first, so their tasks come back now.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.recover()); // 0
   * await queue.close();
   * ```
   *
   * @returns How many tasks were recovered.
   */
  async recover(): Promise<number> {
    const core = coreOf(this);
    const early = await recoverDeadWorkers(core, core.engine("recover"));
    const now = core.now();
    const recovered = await core.engine("recover").recover(now, core.recovery);
    core.announceRecovered(recovered, now);
    return early + recovered.length;
  }

  /**
   * Records a worker in the worker registry, or its heartbeat: a started {@linkcode Worker} calls
   * it once per poll interval (over HTTP too) and {@linkcode QueueOperations.deregisterWorker}
   * when it stops. A worker that misses {@linkcode WORKER_DEAD_AFTER_BEATS} beats is dead: its
   * leases are recovered early by `maintain()` and `recover()`.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.registerWorker({
   *   id: "cron-1",
   *   taskTypes: ["report"],
   *   concurrency: 1,
   *   startedAt: queue.now(),
   *   beatIntervalMs: 60_000,
   * });
   * console.log((await queue.workers())[0]?.alive); // true
   * await queue.close();
   * ```
   *
   * @param registration Who the worker is and how often it beats.
   */
  async registerWorker(registration: WorkerRegistration): Promise<void> {
    await registerWorker(coreOf(this), coreOf(this).engine("register a worker on"), registration);
  }

  /**
   * Removes a worker from the registry (it stopped).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.deregisterWorker("cron-1")); // false: it was not registered
   * await queue.close();
   * ```
   *
   * @param id The worker's id.
   * @returns `false` if it was not registered.
   */
  async deregisterWorker(id: string): Promise<boolean> {
    const engine = coreOf(this).engine("deregister a worker on");
    parse(WorkerIdSchema, id, "worker id");
    return await engine.removeWorker(id);
  }
}
