/**
 * The SQLite engine: each state transition is one small method around prepared statements from
 * `_statements.ts`, run in a `BEGIN IMMEDIATE` transaction where it needs more than one.
 *
 * @module
 */

import type {
  ClaimRequest,
  ClaimResult,
  Engine,
  EnqueueResult,
  FiredSlot,
  LeaseRef,
  LiveCount,
  NewSchedule,
  NewTask,
  Outcome,
  RetryDelay,
  Schedule,
  TypeControl,
  TypeLimits,
} from "../engine.ts";
import type { SqliteDriver, SqliteRow, SqliteStatement, SqliteValue } from "../drivers/driver.ts";
import {
  type JsonValue,
  type QueueStats,
  type Task,
  type TaskPriority,
  TaskStatus,
} from "../task.ts";
import { MIGRATIONS } from "./_migrations.ts";
import { type Compiled, STATEMENTS } from "./_statements.ts";

/** The `PRAGMA synchronous` levels. */
export type Synchronous = "OFF" | "NORMAL" | "FULL" | "EXTRA";

/** How the SQLite connection is set up. */
export interface SqliteEngineOptions {
  /** `PRAGMA synchronous`. */
  synchronous: Synchronous;
  /** How long a writer waits for another connection's lock before failing. */
  busyTimeoutMs: number;
  /** Whether {@linkcode SqliteEngine.close} closes the driver (false for a caller's handle). */
  ownsDriver: boolean;
}

type Key = keyof typeof STATEMENTS;
type Args = Record<string, SqliteValue>;

/** The {@linkcode Engine} over one SQLite connection. */
export class SqliteEngine implements Engine {
  readonly #driver: SqliteDriver;
  readonly #ownsDriver: boolean;
  readonly #statements: { [K in Key]: SqliteStatement };

  private constructor(driver: SqliteDriver, ownsDriver: boolean) {
    this.#driver = driver;
    this.#ownsDriver = ownsDriver;
    const entries = Object.entries(STATEMENTS) as [Key, Compiled][];
    this.#statements = Object.fromEntries(
      entries.map(([key, compiled]) => [key, driver.prepare(compiled.sql)]),
    ) as { [K in Key]: SqliteStatement };
  }

  /** Configures the connection, applies pending migrations and prepares every statement. */
  static create(driver: SqliteDriver, options: SqliteEngineOptions): SqliteEngine {
    driver.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    driver.exec("PRAGMA journal_mode = WAL");
    driver.exec(`PRAGMA synchronous = ${options.synchronous}`);
    migrate(driver);
    return new SqliteEngine(driver, options.ownsDriver);
  }

  #all(key: Key, args: Args = {}): SqliteRow[] {
    return this.#statements[key].all(STATEMENTS[key].bind(args));
  }

  #get(key: Key, args: Args = {}): SqliteRow | undefined {
    return this.#statements[key].get(STATEMENTS[key].bind(args));
  }

  #exec(key: Key, args: Args = {}): number {
    return this.#statements[key].run(STATEMENTS[key].bind(args));
  }

  #tx<T>(fn: () => T): Promise<T> {
    return settle(() => transaction(this.#driver, fn));
  }

  enqueue(tasks: readonly NewTask[], now: number): Promise<EnqueueResult[]> {
    return this.#tx(() => tasks.map((task) => this.#insert(task, now)));
  }

  #insert(task: NewTask, now: number): EnqueueResult {
    const inserted = this.#get("insert", {
      name: task.name,
      taskType: task.taskType,
      payload: JSON.stringify(task.payload),
      priority: task.priority,
      maxRetries: task.maxRetries,
      uniqueKey: task.uniqueKey,
      now,
      scheduledAt: task.scheduledAt,
      timeoutMs: task.timeoutMs,
      retryPolicy: task.retryPolicy ? JSON.stringify(task.retryPolicy) : null,
    });
    if (inserted) return { id: inserted.id as number, inserted: true };
    const live = this.#get("findLiveByKey", { uniqueKey: task.uniqueKey })!;
    return { id: live.id as number, inserted: false };
  }

  dequeue(request: ClaimRequest): Promise<ClaimResult> {
    return this.#tx(() => {
      const recovered = this.#all("recover", { now: request.now }).map(toTask);
      const controls = this.#all("controls").map(toControl);
      const tasks = controls.length === 0
        ? this.#claim(request, [], request.limit)
        : this.#claimControlled(request, controls);
      // RETURNING does not keep the subquery's order.
      return { tasks: tasks.sort(claimOrder), recovered };
    });
  }

  #claim(request: ClaimRequest, excluded: readonly string[], limit: number): Task[] {
    const args: Args = {
      now: request.now,
      workerId: request.workerId,
      leaseMs: request.leaseMs,
      leaseExpiresAt: request.now + request.leaseMs,
      limit,
    };
    if (request.taskTypes) args.taskTypes = JSON.stringify(request.taskTypes);
    if (excluded.length > 0) args.excluded = JSON.stringify(excluded);
    const key = request.taskTypes
      ? excluded.length ? "claimTypesExcept" : "claimTypes"
      : excluded.length
      ? "claimExcept"
      : "claim";
    return this.#all(key, args).map(toTask);
  }

  /** Claims around pauses and limits: limited types are claimed one task at a time. */
  #claimControlled(request: ClaimRequest, controls: TypeControl[]): Task[] {
    if (controls.some((c) => c.taskType === "*" && c.pausedAt !== null)) return [];
    const paused = controls.filter((c) => c.pausedAt !== null).map((c) => c.taskType);
    const limited = controls.filter((c) => c.concurrency !== null || c.rate !== null);
    if (limited.length === 0) return this.#claim(request, paused, request.limit);

    const running = new Map(
      this.#all("runningByType").map((row) => [row.task_type as string, Number(row.count)]),
    );
    const capacity = new Map<string, number>();
    for (const control of limited) {
      let room = Infinity;
      if (control.concurrency !== null) {
        room = control.concurrency - (running.get(control.taskType) ?? 0);
      }
      if (control.rate !== null) {
        const since = request.now - control.rate.intervalMs;
        this.#exec("rateForget", { taskType: control.taskType, since });
        const used = Number(this.#get("rateCount", { taskType: control.taskType, since })!.count);
        room = Math.min(room, control.rate.max - used);
      }
      capacity.set(control.taskType, room);
    }
    const rated = new Set(limited.filter((c) => c.rate !== null).map((c) => c.taskType));
    const claimed: Task[] = [];
    while (claimed.length < request.limit) {
      const full = [...capacity].filter(([, room]) => room <= 0).map(([type]) => type);
      const [task] = this.#claim(request, [...paused, ...full], 1);
      if (!task) break;
      claimed.push(task);
      const room = capacity.get(task.taskType);
      if (room !== undefined) capacity.set(task.taskType, room - 1);
      if (rated.has(task.taskType)) {
        this.#exec("rateRecord", { taskType: task.taskType, now: request.now });
      }
    }
    return claimed;
  }

  heartbeat(ref: LeaseRef, now: number): Promise<Outcome> {
    return settle(() => this.#transition(ref, "heartbeat", { ...fence(ref), now }));
  }

  progress(ref: LeaseRef, progress: JsonValue, now: number): Promise<Outcome> {
    return settle(() =>
      this.#transition(ref, "progress", {
        ...fence(ref),
        progress: JSON.stringify(progress),
        now,
      })
    );
  }

  complete(ref: LeaseRef, result: JsonValue, now: number): Promise<Outcome> {
    return settle(() =>
      this.#transition(ref, "complete", { ...fence(ref), result: JSON.stringify(result), now })
    );
  }

  fail(ref: LeaseRef, error: string, now: number, retryDelay: RetryDelay): Promise<Outcome> {
    return this.#tx(() => {
      const row = this.#get("get", { id: ref.id });
      const current = row ? toTask(row) : null;
      if (
        !current || current.status !== TaskStatus.RUNNING ||
        (ref.attempts !== null && current.attempts !== ref.attempts)
      ) {
        return this.#explain(ref, row);
      }
      const retryCount = current.retryCount + 1;
      const cancelled = current.cancelRequestedAt !== null;
      const delay = cancelled || retryCount > current.maxRetries
        ? null
        : retryDelay(retryCount, current);
      const status = cancelled
        ? TaskStatus.CANCELLED
        : delay === null
        ? TaskStatus.FAILED
        : TaskStatus.PENDING;
      return this.#transition(ref, "fail", {
        ...fence(ref),
        status,
        error,
        now,
        scheduledAt: delay === null ? current.scheduledAt : now + delay,
        completedAt: delay === null ? now : null,
      });
    });
  }

  release(ref: LeaseRef, now: number): Promise<Outcome> {
    return settle(() => this.#transition(ref, "release", { ...fence(ref), now }));
  }

  cancel(id: number, now: number): Promise<Outcome> {
    return this.#tx(() => {
      const cancelled = this.#get("cancel", { id, now }) ?? this.#get("requestCancel", { id, now });
      if (cancelled) return { ok: true, task: toTask(cancelled) } as const;
      return this.#explain({ id, attempts: null }, this.#get("get", { id }));
    });
  }

  cancelRequested(ids: readonly number[]): Promise<number[]> {
    return settle(() =>
      ids.length === 0
        ? []
        : this.#all("cancelRequested", { ids: JSON.stringify(ids) }).map((row) => row.id as number)
    );
  }

  retry(id: number, now: number): Promise<Outcome> {
    return settle(() => {
      try {
        return this.#transition({ id, attempts: null }, "retry", { id, now });
      } catch (error) {
        if (!String(error).includes("UNIQUE constraint failed")) throw error;
        return { ok: false, reason: "conflict", status: toTask(this.#get("get", { id })!).status };
      }
    });
  }

  failedIds(taskType: string | null, limit: number): Promise<number[]> {
    return settle(() => this.#all("failedIds", { taskType, limit }).map((row) => row.id as number));
  }

  recover(now: number): Promise<Task[]> {
    return this.#tx(() => this.#all("recover", { now }).map(toTask));
  }

  prune(before: number, statuses: readonly TaskStatus[], limit: number): Promise<number> {
    return this.#tx(() =>
      this.#exec("prune", { before, statuses: JSON.stringify(statuses), limit })
    );
  }

  get(id: number): Promise<Task | null> {
    return settle(() => {
      const row = this.#get("get", { id });
      return row ? toTask(row) : null;
    });
  }

  stats(): Promise<QueueStats> {
    return settle(() => {
      const stats: QueueStats = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const row of this.#all("stats")) stats[row.status as TaskStatus] = Number(row.count);
      return stats;
    });
  }

  liveCounts(): Promise<LiveCount[]> {
    return settle(() =>
      this.#all("liveByType").map((row) => ({
        taskType: row.task_type as string,
        status: row.status as TaskStatus,
        count: Number(row.count),
      }))
    );
  }

  list(status: TaskStatus, limit: number, offset: number, search: string | null): Promise<Task[]> {
    return settle(() => {
      if (search === null) return this.#all("list", { status, limit, offset }).map(toTask);
      const pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return this.#all("search", { status, limit, offset, pattern }).map(toTask);
    });
  }

  controls(): Promise<TypeControl[]> {
    return settle(() => this.#all("controls").map(toControl));
  }

  setPaused(taskType: string, pausedAt: number | null): Promise<void> {
    return this.#tx(() => {
      this.#exec("setPaused", { taskType, pausedAt });
      this.#exec("tidyControls");
    });
  }

  setLimits(taskType: string, limits: TypeLimits): Promise<void> {
    return this.#tx(() => {
      this.#exec("setLimits", {
        taskType,
        maxConcurrency: limits.concurrency,
        rateMax: limits.rate?.max ?? null,
        rateWindowMs: limits.rate?.intervalMs ?? null,
      });
      this.#exec("tidyControls");
    });
  }

  upsertSchedule(schedule: NewSchedule, now: number): Promise<Schedule> {
    return this.#tx(() =>
      toSchedule(
        this.#get("upsertSchedule", {
          name: schedule.name,
          cron: schedule.cron,
          timezone: schedule.timezone,
          taskType: schedule.taskType,
          taskName: schedule.taskName,
          payload: JSON.stringify(schedule.payload),
          priority: schedule.priority,
          maxRetries: schedule.maxRetries,
          timeoutMs: schedule.timeoutMs,
          nextRunAt: schedule.nextRunAt,
          paused: schedule.paused ? 1 : 0,
          now,
        })!,
      )
    );
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#tx(() => this.#get("deleteSchedule", { name }) !== undefined);
  }

  schedules(): Promise<Schedule[]> {
    return settle(() => this.#all("listSchedules").map(toSchedule));
  }

  fireSchedules(now: number, next: (schedule: Schedule) => number | null): Promise<FiredSlot[]> {
    // Most polls find nothing due: check with a read before taking the write lock.
    if (!this.#get("dueSchedules", { now })) return Promise.resolve([]);
    return this.#tx(() => {
      const fired: FiredSlot[] = [];
      for (const schedule of this.#all("dueSchedules", { now }).map(toSchedule)) {
        const slot = schedule.nextRunAt!;
        const { id: taskId } = this.#insert({
          name: schedule.taskName,
          taskType: schedule.taskType,
          payload: schedule.payload,
          priority: schedule.priority,
          scheduledAt: slot,
          maxRetries: schedule.maxRetries,
          uniqueKey: null,
          timeoutMs: schedule.timeoutMs,
          retryPolicy: null,
        }, now);
        const moved = this.#get("advanceSchedule", {
          name: schedule.name,
          slot,
          nextRunAt: next(schedule),
          taskId,
          now,
        });
        if (!moved) throw new Error(`Schedule ${schedule.name} moved during its own transaction`);
        const { taskName, taskType, priority } = schedule;
        fired.push({ name: schedule.name, slot, taskId, taskName, taskType, priority });
      }
      return fired;
    });
  }

  close(): Promise<void> {
    return settle(() => {
      if (!this.#ownsDriver) return;
      try {
        this.#driver.exec("PRAGMA optimize"); // refreshes planner statistics, when cheap
      } catch {
        // best effort: another connection may hold the write lock; the close must not fail
      }
      this.#driver.close();
    });
  }

  /** Runs a single-statement transition; on no match, says why. */
  #transition(ref: LeaseRef, key: Key, args: Args): Outcome {
    const row = this.#get(key, args);
    if (row) return { ok: true, task: toTask(row) };
    return this.#explain(ref, this.#get("get", { id: ref.id }));
  }

  #explain(ref: LeaseRef, row: SqliteRow | undefined): Outcome {
    if (!row) return { ok: false, reason: "missing" };
    const status = row.status as TaskStatus;
    return { ok: false, reason: ref.attempts !== null ? "lease_lost" : "state", status };
  }
}

function fence(ref: LeaseRef): Args {
  return { id: ref.id, attempts: ref.attempts };
}

/** Applies the migrations this file lacks, in one write transaction. */
function migrate(driver: SqliteDriver): void {
  transaction(driver, () => {
    driver.exec(`CREATE TABLE IF NOT EXISTS tasklite_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const row = driver.prepare("SELECT max(version) AS version FROM tasklite_migrations").get([]);
    const current = Number(row?.version ?? 0);
    const latest = MIGRATIONS.at(-1)!.version;
    if (current > latest) {
      throw new Error(
        `Cannot open the queue: its schema is at version ${current}, newer than this tasklite (${latest})`,
      );
    }
    const record = driver.prepare(
      "INSERT INTO tasklite_migrations (version, name, applied_at) VALUES (?, ?, ?)",
    );
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      driver.exec(migration.sql);
      record.run([migration.version, migration.name, Date.now()]);
    }
  });
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front. */
function transaction<T>(driver: SqliteDriver, fn: () => T): T {
  driver.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    driver.exec("COMMIT");
    return result;
  } catch (error) {
    driver.exec("ROLLBACK");
    throw error;
  }
}

/** Turns a synchronous call into a promise, so a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function claimOrder(a: Task, b: Task): number {
  return b.priority - a.priority || a.scheduledAt - b.scheduledAt || a.id - b.id;
}

const parseJson = (text: unknown) => text === null ? null : JSON.parse(text as string);

function toTask(row: SqliteRow): Task {
  return {
    id: row.id as number,
    name: row.name as string,
    taskType: row.task_type as string,
    payload: JSON.parse(row.payload as string),
    priority: row.priority as TaskPriority,
    status: row.status as TaskStatus,
    result: parseJson(row.result),
    error: row.error as string | null,
    retryCount: row.retry_count as number,
    maxRetries: row.max_retries as number,
    attempts: row.attempts as number,
    uniqueKey: row.unique_key as string | null,
    createdAt: row.created_at as number,
    scheduledAt: row.scheduled_at as number,
    startedAt: row.started_at as number | null,
    completedAt: row.completed_at as number | null,
    failedAt: row.failed_at as number | null,
    workerId: row.worker_id as string | null,
    leaseMs: row.lease_ms as number | null,
    leaseExpiresAt: row.lease_expires_at as number | null,
    timeoutMs: row.timeout_ms as number | null,
    retryPolicy: parseJson(row.retry_policy),
    progress: parseJson(row.progress),
    errors: JSON.parse(row.errors as string),
    cancelRequestedAt: row.cancel_requested_at as number | null,
  };
}

function toControl(row: SqliteRow): TypeControl {
  return {
    taskType: row.task_type as string,
    pausedAt: row.paused_at as number | null,
    concurrency: row.max_concurrency as number | null,
    rate: row.rate_max === null
      ? null
      : { max: row.rate_max as number, intervalMs: row.rate_window_ms as number },
  };
}

function toSchedule(row: SqliteRow): Schedule {
  return {
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string | null,
    taskType: row.task_type as string,
    taskName: row.task_name as string,
    payload: JSON.parse(row.payload as string),
    priority: row.priority as TaskPriority,
    maxRetries: row.max_retries as number,
    timeoutMs: row.timeout_ms as number | null,
    nextRunAt: row.next_run_at as number | null,
    lastRunAt: row.last_run_at as number | null,
    lastTaskId: row.last_task_id as number | null,
    paused: row.paused === 1,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}
