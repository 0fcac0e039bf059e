/**
 * {@linkcode TaskQueue}: the public API over a storage {@linkcode Engine}. It validates every
 * input, applies the retry policy and turns an engine's refusals into named errors.
 *
 * @module
 */

import type * as v from "valibot";
import { type BackoffOptions, exponentialBackoff, retryDelay } from "./backoff.ts";
import { nextCronSlot } from "./cron.ts";
import type { Engine, LeaseRef, Outcome, Schedule, TypeControl, TypeLimits } from "./engine.ts";
import type { SqliteBinding, SqliteDriver } from "./drivers/driver.ts";
import type { BunSqliteDatabase } from "./drivers/bun_sqlite.ts";
import type { NodeSqliteDatabase } from "./drivers/node_sqlite.ts";
import { adoptDriver, openDriver } from "./drivers/open.ts";
import { LeaseLostError, TaskNotFoundError, TaskStateError } from "./errors.ts";
import { failureMessage } from "./_failure.ts";
import { Emitter } from "./_emitter.ts";
import type { QueueEventName, QueueListener } from "./events.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { type Clock, toClock } from "./clock.ts";
import { LocalNotifier, type Notifier } from "./notifier.ts";
import { MetricsCollector, type QueueMetrics } from "./metrics.ts";
import { SqliteEngine, type Synchronous } from "./sqlite/engine.ts";
import {
  type JsonValue,
  type QueueStats,
  type RetryPolicy,
  type Task,
  type TaskPriority,
  TaskStatus,
} from "./task.ts";
import {
  CronSchema,
  DequeueSchema,
  EnqueueManySchema,
  EnqueueSchema,
  FailOptionsSchema,
  FailureSchema,
  IdSchema,
  LimitSchema,
  LimitsSchema,
  ListOptionsSchema,
  OffsetSchema,
  OpenOptionsSchema,
  parse,
  ProgressSchema,
  PruneSchema,
  ResultSchema,
  RetryFailedSchema,
  ScheduleNameSchema,
  ScheduleSchema,
  StatusSchema,
  TaskRefSchema,
  TaskTypeSchema,
} from "./_validation.ts";

/** What to enqueue. */
export interface EnqueueOptions {
  /** A human-readable name, shown in lists and logs. */
  name: string;
  /** Selects the handler that runs the task. */
  taskType: string;
  /**
   * Input for the handler: JSON data (plain objects, arrays, strings, finite numbers, booleans,
   * `null`), checked at run time. Typed `unknown` so that values of your own interfaces fit.
   *
   * @default {{}}
   */
  payload?: unknown;
  /**
   * Higher runs first.
   *
   * @default {TaskPriority.NORMAL}
   */
  priority?: TaskPriority | undefined;
  /**
   * When the task becomes due: a `Date` or epoch milliseconds.
   *
   * @default {now}
   */
  scheduledAt?: Date | number | undefined;
  /**
   * Retries after the first failure: the task runs at most `maxRetries + 1` times.
   *
   * @default {3}
   */
  maxRetries?: number | undefined;
  /**
   * Idempotency key: while a task with this key is pending or running, enqueueing it again
   * returns that task's id instead of adding a duplicate.
   */
  uniqueKey?: string | undefined;
  /**
   * Run time limit: the handler's `ctx.signal` aborts and the attempt fails when it runs longer.
   * Overrides the handler's own `timeoutMs`.
   */
  timeoutMs?: number | undefined;
  /** How long to wait between attempts; overrides the worker's and the queue's policy. */
  retry?: RetryPolicy | undefined;
}

/** What a recurring schedule enqueues, and when. */
export interface ScheduleOptions {
  /** The task type of each enqueued task. */
  taskType: string;
  /**
   * The name of each enqueued task.
   *
   * @default {the schedule's name}
   */
  name?: string | undefined;
  /**
   * Payload of each enqueued task.
   *
   * @default {{}}
   */
  payload?: unknown;
  /**
   * Priority of each enqueued task.
   *
   * @default {TaskPriority.NORMAL}
   */
  priority?: TaskPriority | undefined;
  /**
   * Retries of each enqueued task.
   *
   * @default {3}
   */
  maxRetries?: number | undefined;
  /** Run time limit of each enqueued task. */
  timeoutMs?: number | undefined;
  /**
   * The IANA time zone the cron pattern is read in, such as `Europe/Paris`.
   *
   * @default {"UTC"}
   */
  timezone?: string | undefined;
  /**
   * A paused schedule keeps its definition but does not fire.
   *
   * @default {false}
   */
  paused?: boolean | undefined;
}

/** Which finished tasks to delete. */
export interface PruneOptions {
  /** Only tasks that finished at least this long ago. */
  olderThanMs: number;
  /**
   * Only tasks with these statuses.
   *
   * @default {["completed", "cancelled"]}
   */
  statuses?: readonly ("completed" | "failed" | "cancelled")[] | undefined;
  /**
   * At most this many (oldest first), to keep each transaction short.
   *
   * @default {10_000}
   */
  limit?: number | undefined;
}

/** The automatic pruning policy, applied by {@linkcode TaskQueue.maintain}. */
export interface RetentionOptions {
  /** Delete finished tasks this long after they finished. */
  olderThanMs: number;
  /**
   * Which finished tasks.
   *
   * @default {["completed", "cancelled"]}
   */
  statuses?: readonly ("completed" | "failed" | "cancelled")[];
  /**
   * How often to prune.
   *
   * @default {60_000}
   */
  intervalMs?: number;
}

/** Limits on a task type: `null` clears one; an omitted one is cleared too. */
export interface LimitOptions {
  /** At most this many running at once, across every process. */
  concurrency?: number | null | undefined;
  /** At most `max` claims per `intervalMs`, across every process. */
  rate?: { max: number; intervalMs: number } | null | undefined;
}

/** How to claim. */
export interface DequeueOptions {
  /** Only tasks of these types. By default, any type. */
  taskTypes?: readonly string[] | undefined;
  /**
   * How long the claim holds before another worker may take the task over; extend it with
   * {@linkcode TaskQueue.heartbeat}.
   *
   * @default {the queue's leaseMs, 30_000}
   */
  leaseMs?: number | undefined;
  /** Recorded on the task as the lease holder. */
  workerId?: string | undefined;
}

/** How to record a failure. */
export interface FailOptions {
  /**
   * `false` fails the task for good, skipping any retries left.
   *
   * @default {true}
   */
  retry?: boolean | undefined;
  /** Overrides the backoff for this retry, in milliseconds. */
  retryDelayMs?: number | undefined;
}

/** How to open a queue. */
export interface OpenOptions {
  /**
   * The SQLite file, or `":memory:"`.
   *
   * @default {"tasks.db"}
   */
  path?: string;
  /**
   * An open database to use instead of opening `path`: a `node:sqlite` `DatabaseSync`, a
   * `bun:sqlite` `Database`, or any {@linkcode SqliteDriver}. The queue configures it, migrates it
   * and leaves it open on {@linkcode TaskQueue.close}.
   */
  database?: SqliteDriver | NodeSqliteDatabase | BunSqliteDatabase;
  /**
   * The SQLite binding to open `path` with.
   *
   * @default {"bun:sqlite" on Bun, "node:sqlite" elsewhere}
   */
  driver?: SqliteBinding;
  /**
   * `PRAGMA synchronous`. With WAL, `NORMAL` never corrupts the file and loses nothing when a
   * process crashes, but a power loss or OS crash may undo the last commits; `FULL` makes every
   * commit durable at the cost of an fsync per transaction.
   *
   * @default {"NORMAL"}
   */
  synchronous?: Synchronous;
  /**
   * How long a write waits for another connection's lock before failing.
   *
   * @default {5000}
   */
  busyTimeoutMs?: number;
  /**
   * The lease {@linkcode TaskQueue.dequeue} takes when not told otherwise.
   *
   * @default {30_000}
   */
  leaseMs?: number;
  /**
   * The delay before each retry: options of {@linkcode exponentialBackoff}, or a function of the
   * number of failed attempts so far.
   *
   * @default {exponentialBackoff()}
   */
  backoff?: BackoffOptions | ((retryCount: number) => number);
  /**
   * The clock of the queue and of its workers' timers: a {@linkcode Clock}, or a function returning
   * epoch milliseconds (waits then use the runtime's timers). Tests inject one to move time without
   * sleeping.
   *
   * @default {systemClock}
   */
  clock?: Clock | (() => number);
  /**
   * Wakes idle workers of this queue when tasks may be ready (a latency hint; polling stays the
   * source of truth).
   *
   * @default {a new LocalNotifier}
   */
  notifier?: Notifier;
  /**
   * Where the queue and its workers log. Quiet by default.
   *
   * @default {silentLogger}
   */
  logger?: Logger;
  /** Prune finished tasks automatically (from {@linkcode TaskQueue.maintain}, run by workers). */
  retention?: RetentionOptions;
}

/**
 * A task for a transition: a claimed `Task` (or anything with its `id` and `attempts`, fenced by
 * that lease), or a bare id (acts on whichever run is current).
 */
export type TaskRef = number | Pick<Task, "id" | "attempts">;

const DEFAULT_PATH = "tasks.db";
const RETENTION_BATCH = 10_000;
const DEFAULT_PRUNE_STATUSES = [TaskStatus.COMPLETED, TaskStatus.CANCELLED] as const;

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
export class TaskQueue {
  #engine: Engine | null;
  readonly #clock: () => number;
  /** The clock of this queue and its workers. */
  readonly clock: Clock;
  /** Wakes idle workers of this queue when tasks may be ready. */
  readonly notifier: Notifier;
  readonly #leaseMs: number;
  readonly #backoff: (retryCount: number) => number;
  readonly #events: Emitter;
  readonly #metrics: MetricsCollector;
  readonly #retention: RetentionOptions | null;
  #lastPruneAt = -Infinity;
  /** Where this queue and its workers log. */
  readonly logger: Logger;

  /**
   * Wraps an engine. Most callers want {@linkcode TaskQueue.open}.
   *
   * @param engine The storage engine.
   * @param options Lease, backoff and clock options (`path`, `database`, `driver`,
   * `synchronous` and `busyTimeoutMs` are the SQLite engine's and are ignored here).
   */
  constructor(engine: Engine, options: OpenOptions = {}) {
    this.#engine = engine;
    this.clock = toClock(options.clock);
    const clock = this.clock;
    this.#clock = () => clock.now();
    this.notifier = options.notifier ?? new LocalNotifier();
    this.#leaseMs = options.leaseMs ?? 30_000;
    const backoff = options.backoff;
    this.#backoff = typeof backoff === "function" ? backoff : exponentialBackoff(backoff);
    parse(OpenOptionsSchema, options, "open options");
    this.logger = options.logger ?? silentLogger;
    this.#retention = options.retention ?? null;
    this.#events = new Emitter((error, event) =>
      this.logger.error(`A "${event}" listener threw`, { error: String(error) })
    );
    this.#metrics = new MetricsCollector(this.#events, this.#clock());
  }

  /**
   * Opens (creating it if needed) a queue in a SQLite file, on the runtime's built-in SQLite.
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
    const provided = all.database;
    const driver = provided
      ? adoptDriver(provided)
      : await openDriver(all.path ?? DEFAULT_PATH, all.driver);
    try {
      const engine = SqliteEngine.create(driver, {
        synchronous: all.synchronous ?? "NORMAL",
        busyTimeoutMs: all.busyTimeoutMs ?? 5000,
        ownsDriver: !provided,
      });
      return new TaskQueue(engine, all);
    } catch (error) {
      if (!provided) driver.close();
      throw error;
    }
  }

  /**
   * The queue's clock, in epoch milliseconds.
   *
   * @returns Now.
   */
  now(): number {
    return this.#clock();
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
   * @returns Its id (or, for a `uniqueKey` already live, the existing task's id).
   */
  async enqueue(options: EnqueueOptions): Promise<number> {
    const engine = this.#open("enqueue");
    const [id] = await this.#store(engine, [parse(EnqueueSchema, options, "enqueue options")]);
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
   * @returns Their ids, in order.
   */
  async enqueueMany(list: readonly EnqueueOptions[]): Promise<number[]> {
    const engine = this.#open("enqueue");
    return await this.#store(engine, parse(EnqueueManySchema, list, "enqueue options"));
  }

  async #store(engine: Engine, parsed: v.InferOutput<typeof EnqueueSchema>[]): Promise<number[]> {
    const now = this.#clock();
    const tasks = parsed.map((options) => ({
      name: options.name,
      taskType: options.taskType,
      payload: options.payload as JsonValue,
      priority: options.priority,
      scheduledAt: options.scheduledAt === undefined
        ? now
        : typeof options.scheduledAt === "number"
        ? options.scheduledAt
        : options.scheduledAt.getTime(),
      maxRetries: options.maxRetries,
      uniqueKey: options.uniqueKey ?? null,
      timeoutMs: options.timeoutMs ?? null,
      retryPolicy: (options.retry ?? null) as RetryPolicy | null,
    }));
    const stored = await engine.enqueue(tasks, now);
    const ready = tasks.filter((task, i) => stored[i]!.inserted && task.scheduledAt <= now);
    if (ready.length > 0) this.notifier.notify([...new Set(ready.map((task) => task.taskType))]);
    if (this.#events.has("enqueued")) {
      tasks.forEach((task, i) => {
        const { id, inserted } = stored[i]!;
        if (!inserted) return; // a live task already holds its uniqueKey
        this.#events.emit("enqueued", {
          taskId: id,
          name: task.name,
          taskType: task.taskType,
          priority: task.priority,
          scheduledAt: task.scheduledAt,
        });
      });
    }
    return stored.map((result) => result.id);
  }

  /**
   * Claims the next due task: highest priority first, then earliest `scheduledAt`, then lowest id.
   * The claim is atomic: no other caller, connection or process gets the task while its lease
   * holds. Running tasks whose lease has expired are put back first (counting a failed attempt).
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
    const engine = this.#open("dequeue");
    parse(LimitSchema, limit, "dequeue limit");
    const parsed = parse(DequeueSchema, options, "dequeue options");
    const { tasks, recovered } = await engine.dequeue({
      now: this.#clock(),
      limit,
      leaseMs: parsed.leaseMs ?? this.#leaseMs,
      workerId: parsed.workerId ?? null,
      taskTypes: parsed.taskTypes ?? null,
    });
    this.#announceRecovered(recovered);
    for (const task of tasks) this.#events.emit("started", { task });
    return tasks;
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
    const engine = this.#open("heartbeat");
    const ref = toRef(task);
    return expect(await engine.heartbeat(ref, this.#clock()), "heartbeat", ref);
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
    const engine = this.#open("report progress of");
    const ref = toRef(task);
    const value = parse(ProgressSchema, progress, "progress") as JsonValue;
    const updated = expect(
      await engine.progress(ref, value, this.#clock()),
      "report progress of",
      ref,
    );
    this.#events.emit("progress", { task: updated, progress: value });
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
    const engine = this.#open("complete");
    const ref = toRef(task);
    const value = parse(ResultSchema, result, "task result");
    const done = expect(
      await engine.complete(ref, value as JsonValue, this.#clock()),
      "complete",
      ref,
    );
    this.#events.emit("completed", { task: done });
    return done;
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
    const engine = this.#open("fail");
    const ref = toRef(task);
    const reason = parse(FailureSchema, error, "task error");
    const parsed = parse(FailOptionsSchema, options, "fail options");
    const message = failureMessage(reason);
    const delay = (retryCount: number, current: Task) => {
      if (parsed.retry === false) return null;
      if (parsed.retryDelayMs !== undefined) return parsed.retryDelayMs;
      if (current.retryPolicy) return retryDelay(current.retryPolicy, retryCount);
      return this.#backoff(retryCount);
    };
    const after = expect(await engine.fail(ref, message, this.#clock(), delay), "fail", ref);
    this.#announceFailure(after, message);
    return after;
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
    const engine = this.#open("release");
    const ref = toRef(task);
    const released = expect(await engine.release(ref, this.#clock()), "release", ref);
    this.notifier.notify([released.taskType]);
    return released;
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
    const engine = this.#open("cancel");
    parse(IdSchema, id, "task id");
    const task = expect(await engine.cancel(id, this.#clock()), "cancel", { id, attempts: null });
    if (task.status === TaskStatus.CANCELLED) this.#events.emit("cancelled", { task });
    return task;
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
    const engine = this.#open("check cancellations");
    for (const id of ids) parse(IdSchema, id, "task id");
    return await engine.cancelRequested(ids);
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
    const engine = this.#open("retry");
    parse(IdSchema, id, "task id");
    const task = expect(await engine.retry(id, this.#clock()), "retry", { id, attempts: null });
    this.notifier.notify([task.taskType]);
    this.#events.emit("retried", { task });
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
    const engine = this.#open("retry");
    const parsed = parse(RetryFailedSchema, options, "retryFailed options");
    const ids = await engine.failedIds(parsed.taskType ?? null, parsed.limit ?? 1000);
    const redriven: Task[] = [];
    for (const id of ids) {
      const outcome = await engine.retry(id, this.#clock());
      if (!outcome.ok) continue; // redriven meanwhile, or its uniqueKey is live again
      this.#events.emit("retried", { task: outcome.task });
      redriven.push(outcome.task);
    }
    return redriven;
  }

  /**
   * Puts running tasks whose lease expired back to `pending` (or `failed` when their retries are
   * spent), counting a failed attempt each. {@linkcode TaskQueue.dequeue} does this itself; call
   * it to recover without claiming.
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
    const recovered = await this.#open("recover").recover(this.#clock());
    this.#announceRecovered(recovered);
    return recovered.length;
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
    const engine = this.#open("get");
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
    return await this.#open("count").stats();
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
    const engine = this.#open("list");
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
    const engine = this.#open("pause");
    parse(TaskTypeSchema, taskType, "task type");
    await engine.setPaused(taskType, this.#clock());
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
    const engine = this.#open("resume");
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
    const engine = this.#open("set limits of");
    parse(TaskTypeSchema, taskType, "task type");
    if (taskType === "*") {
      throw new TypeError('Invalid task type: limits apply to one type, not "*"');
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
    return await this.#open("read controls of").controls();
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
    const engine = this.#open("schedule");
    parse(ScheduleNameSchema, name, "schedule name");
    parse(CronSchema, cron, "cron pattern");
    const parsed = parse(ScheduleSchema, options, "schedule options");
    const now = this.#clock();
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
    const engine = this.#open("unschedule");
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
    return await this.#open("read schedules of").schedules();
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
    const engine = this.#open("run schedules of");
    const now = this.#clock();
    const fired = await engine.fireSchedules(
      now,
      (schedule) => nextCronSlot(schedule.cron, now, schedule.timezone),
    );
    for (const slot of fired) {
      this.logger.info("Schedule fired", { name: slot.name, slot: slot.slot, taskId: slot.taskId });
      this.#events.emit("enqueued", {
        taskId: slot.taskId,
        name: slot.taskName,
        taskType: slot.taskType,
        priority: slot.priority,
        scheduledAt: slot.slot,
      });
    }
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
    const engine = this.#open("prune");
    const parsed = parse(PruneSchema, options, "prune options");
    const deleted = await engine.prune(
      this.#clock() - parsed.olderThanMs,
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
    const retention = this.#retention;
    if (retention && this.#clock() - this.#lastPruneAt >= (retention.intervalMs ?? 60_000)) {
      this.#lastPruneAt = this.#clock();
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
    return this.#events.on(event, listener);
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
    const engine = this.#open("read metrics of");
    const [totals, live] = await Promise.all([engine.stats(), engine.liveCounts()]);
    return this.#metrics.snapshot(totals, live);
  }

  #announceFailure(task: Task, error: string): void {
    if (task.status === TaskStatus.PENDING) this.#events.emit("failed", { task, error });
    else if (task.status === TaskStatus.FAILED) this.#events.emit("dead", { task, error });
    else if (task.status === TaskStatus.CANCELLED) this.#events.emit("cancelled", { task });
  }

  #announceRecovered(recovered: readonly Task[]): void {
    for (const task of recovered) {
      this.logger.warn("Lease expired", {
        taskId: task.id,
        status: task.status,
        error: task.error,
      });
      this.#announceFailure(task, task.error ?? "Lease expired");
    }
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
    const engine = this.#engine;
    this.#engine = null;
    await engine?.close();
  }

  #open(action: string): Engine {
    if (!this.#engine) throw new Error(`Cannot ${action}: the queue is closed`);
    return this.#engine;
  }
}

function toRef(task: TaskRef): LeaseRef {
  const ref = parse(TaskRefSchema, task, "task");
  return typeof ref === "number"
    ? { id: ref, attempts: null }
    : { id: ref.id, attempts: ref.attempts };
}

function expect(outcome: Outcome, action: string, ref: LeaseRef): Task {
  if (outcome.ok) return outcome.task;
  switch (outcome.reason) {
    case "missing":
      throw new TaskNotFoundError(action, ref.id);
    case "lease_lost":
      throw new LeaseLostError(
        action,
        ref.id,
        `lease lost (attempt ${ref.attempts} is no longer current; the task is ${outcome.status})`,
      );
    case "conflict":
      throw new TaskStateError(
        action,
        ref.id,
        outcome.status,
        "another pending or running task holds its uniqueKey",
      );
    case "state":
      throw new TaskStateError(action, ref.id, outcome.status);
  }
}
