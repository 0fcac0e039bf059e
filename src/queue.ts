/**
 * {@linkcode TaskQueue}: the public API over a storage {@linkcode Engine}. It validates every
 * input, applies the retry policy and turns an engine's refusals into named errors.
 *
 * @module
 */

import type * as v from "valibot";
import { type BackoffOptions, exponentialBackoff } from "./backoff.ts";
import type { Engine, LeaseRef, Outcome } from "./engine.ts";
import type { SqliteBinding, SqliteDriver } from "./drivers/driver.ts";
import * as bunSqlite from "./drivers/bun_sqlite.ts";
import * as nodeSqlite from "./drivers/node_sqlite.ts";
import { LeaseLostError, TaskNotFoundError, TaskStateError } from "./errors.ts";
import { SqliteEngine, type Synchronous } from "./sqlite/engine.ts";
import type { JsonValue, QueueStats, Task, TaskPriority, TaskStatus } from "./task.ts";
import {
  DequeueSchema,
  EnqueueManySchema,
  EnqueueSchema,
  FailOptionsSchema,
  FailureSchema,
  IdSchema,
  LimitSchema,
  OffsetSchema,
  parse,
  ResultSchema,
  StatusSchema,
  TaskRefSchema,
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
  priority?: TaskPriority;
  /**
   * When the task becomes due: a `Date` or epoch milliseconds.
   *
   * @default {now}
   */
  scheduledAt?: Date | number;
  /**
   * Retries after the first failure: the task runs at most `maxRetries + 1` times.
   *
   * @default {3}
   */
  maxRetries?: number;
  /**
   * Idempotency key: while a task with this key is pending or running, enqueueing it again
   * returns that task's id instead of adding a duplicate.
   */
  uniqueKey?: string;
}

/** How to claim. */
export interface DequeueOptions {
  /** Only tasks of these types. By default, any type. */
  taskTypes?: readonly string[];
  /**
   * How long the claim holds before another worker may take the task over; extend it with
   * {@linkcode TaskQueue.heartbeat}.
   *
   * @default {the queue's leaseMs, 30_000}
   */
  leaseMs?: number;
  /** Recorded on the task as the lease holder. */
  workerId?: string;
}

/** How to record a failure. */
export interface FailOptions {
  /**
   * `false` fails the task for good, skipping any retries left.
   *
   * @default {true}
   */
  retry?: boolean;
  /** Overrides the backoff for this retry, in milliseconds. */
  retryDelayMs?: number;
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
  database?: SqliteDriver | nodeSqlite.NodeSqliteDatabase | bunSqlite.BunSqliteDatabase;
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
   * The clock, in epoch milliseconds. Tests inject one to move time without sleeping.
   *
   * @default {Date.now}
   */
  clock?: () => number;
}

const DEFAULT_PATH = "tasks.db";

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
  readonly #leaseMs: number;
  readonly #backoff: (retryCount: number) => number;

  /**
   * Wraps an engine. Most callers want {@linkcode TaskQueue.open}.
   *
   * @param engine The storage engine.
   * @param options Lease, backoff and clock options (`path`, `database`, `driver`,
   * `synchronous` and `busyTimeoutMs` are the SQLite engine's and are ignored here).
   */
  constructor(engine: Engine, options: OpenOptions = {}) {
    this.#engine = engine;
    this.#clock = options.clock ?? Date.now;
    this.#leaseMs = options.leaseMs ?? 30_000;
    const backoff = options.backoff;
    this.#backoff = typeof backoff === "function" ? backoff : exponentialBackoff(backoff);
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
    checkOpenOptions(all);
    const provided = all.database;
    const driver = provided ? adopt(provided) : await openDriver(all.path ?? DEFAULT_PATH, all);
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

  #store(engine: Engine, parsed: v.InferOutput<typeof EnqueueSchema>[]): Promise<number[]> {
    const now = this.#clock();
    return engine.enqueue(
      parsed.map((options) => ({
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
      })),
      now,
    );
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
    return await engine.dequeue({
      now: this.#clock(),
      limit,
      leaseMs: parsed.leaseMs ?? this.#leaseMs,
      workerId: parsed.workerId ?? null,
      taskTypes: parsed.taskTypes ?? null,
    });
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
  async heartbeat(task: Task | number): Promise<Task> {
    const engine = this.#open("heartbeat");
    const ref = toRef(task);
    return expect(await engine.heartbeat(ref, this.#clock()), "heartbeat", ref);
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
  async completeTask(task: Task | number, result?: unknown): Promise<Task> {
    const engine = this.#open("complete");
    const ref = toRef(task);
    const value = parse(ResultSchema, result, "task result");
    return expect(await engine.complete(ref, value as JsonValue, this.#clock()), "complete", ref);
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
  async failTask(
    task: Task | number,
    error: string | Error,
    options: FailOptions = {},
  ): Promise<Task> {
    const engine = this.#open("fail");
    const ref = toRef(task);
    const reason = parse(FailureSchema, error, "task error");
    const parsed = parse(FailOptionsSchema, options, "fail options");
    const message = typeof reason === "string" ? reason : reason.message || reason.name;
    const delay = (retryCount: number) =>
      parsed.retry === false ? null : parsed.retryDelayMs ?? this.#backoff(retryCount);
    return expect(await engine.fail(ref, message, this.#clock(), delay), "fail", ref);
  }

  /**
   * Cancels a pending task.
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
   * @returns The cancelled task.
   * @throws {TaskStateError} The task is not pending.
   * @throws {TaskNotFoundError} No such task.
   */
  async cancelTask(id: number): Promise<Task> {
    const engine = this.#open("cancel");
    parse(IdSchema, id, "task id");
    return expect(await engine.cancel(id, this.#clock()), "cancel", { id, attempts: null });
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
    return expect(await engine.retry(id, this.#clock()), "retry", { id, attempts: null });
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
    return await this.#open("recover").recover(this.#clock());
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
   * @returns The tasks.
   */
  async getTasksByStatus(status: TaskStatus, limit = 100, offset = 0): Promise<Task[]> {
    const engine = this.#open("list");
    parse(StatusSchema, status, "task status");
    parse(LimitSchema, limit, "list limit");
    parse(OffsetSchema, offset, "list offset");
    return await engine.list(status, limit, offset);
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

function toRef(task: Task | number): LeaseRef {
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

function checkOpenOptions(options: OpenOptions): void {
  const { synchronous, busyTimeoutMs, leaseMs, driver, path } = options;
  if (path !== undefined && (typeof path !== "string" || path === "")) {
    throw new TypeError(`Invalid open options: path must be a non-empty string`);
  }
  if (synchronous !== undefined && !["OFF", "NORMAL", "FULL", "EXTRA"].includes(synchronous)) {
    throw new TypeError(`Invalid open options: synchronous must be OFF, NORMAL, FULL or EXTRA`);
  }
  if (driver !== undefined && driver !== "node:sqlite" && driver !== "bun:sqlite") {
    throw new TypeError(`Invalid open options: driver must be "node:sqlite" or "bun:sqlite"`);
  }
  for (const [name, value] of Object.entries({ busyTimeoutMs, leaseMs })) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`Invalid open options: ${name} must be a positive integer`);
    }
  }
}

function openDriver(path: string, options: OpenOptions): Promise<SqliteDriver> {
  const onBun = "Bun" in globalThis;
  const binding = options.driver ?? (onBun ? "bun:sqlite" : "node:sqlite");
  if (binding === "bun:sqlite" && !onBun) {
    throw new TypeError(`Invalid open options: driver "bun:sqlite" needs the Bun runtime`);
  }
  return binding === "bun:sqlite" ? bunSqlite.open(path) : nodeSqlite.open(path);
}

/** Wraps a caller's open database, whichever binding it comes from. */
function adopt(
  database: SqliteDriver | nodeSqlite.NodeSqliteDatabase | bunSqlite.BunSqliteDatabase,
): SqliteDriver {
  if ("name" in database && typeof database.name === "string") return database as SqliteDriver;
  if ("query" in database && typeof database.query === "function") {
    return bunSqlite.wrap(database as bunSqlite.BunSqliteDatabase);
  }
  if (typeof database?.prepare === "function" && typeof database.exec === "function") {
    return nodeSqlite.wrap(database as nodeSqlite.NodeSqliteDatabase);
  }
  throw new TypeError(
    "Invalid open options: database must be a node:sqlite DatabaseSync, a bun:sqlite Database or a SqliteDriver",
  );
}
