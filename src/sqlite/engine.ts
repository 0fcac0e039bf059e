/**
 * The SQLite engine: each state transition is one small method around one prepared statement
 * from `_statements.ts`, run in a `BEGIN IMMEDIATE` transaction where it needs more than one.
 *
 * @module
 */

import type { ClaimRequest, Engine, LeaseRef, NewTask, Outcome, RetryDelay } from "../engine.ts";
import type { SqliteDriver, SqliteRow, SqliteStatement } from "../drivers/driver.ts";
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

type Prepared = { [K in keyof typeof STATEMENTS]: SqliteStatement };

/** The {@linkcode Engine} over one SQLite connection. */
export class SqliteEngine implements Engine {
  readonly #driver: SqliteDriver;
  readonly #ownsDriver: boolean;
  readonly #statements: Prepared;

  private constructor(driver: SqliteDriver, ownsDriver: boolean) {
    this.#driver = driver;
    this.#ownsDriver = ownsDriver;
    const entries = Object.entries(STATEMENTS) as [keyof Prepared, Compiled][];
    this.#statements = Object.fromEntries(
      entries.map(([key, compiled]) => [key, driver.prepare(compiled.sql)]),
    ) as Prepared;
  }

  /** Configures the connection, applies pending migrations and prepares every statement. */
  static create(driver: SqliteDriver, options: SqliteEngineOptions): SqliteEngine {
    driver.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    driver.exec("PRAGMA journal_mode = WAL");
    driver.exec(`PRAGMA synchronous = ${options.synchronous}`);
    migrate(driver);
    return new SqliteEngine(driver, options.ownsDriver);
  }

  #run(key: keyof Prepared, args: Record<string, unknown>, read: "all"): SqliteRow[];
  #run(key: keyof Prepared, args: Record<string, unknown>, read: "get"): SqliteRow | undefined;
  #run(key: keyof Prepared, args: Record<string, unknown>, read: "run"): number;
  #run(key: keyof Prepared, args: Record<string, unknown>, read: "all" | "get" | "run") {
    const params = STATEMENTS[key].bind(args as never);
    return this.#statements[key][read](params);
  }

  enqueue(tasks: readonly NewTask[], now: number): Promise<number[]> {
    return settle(() =>
      transaction(this.#driver, () =>
        tasks.map((task) => {
          const args = {
            name: task.name,
            taskType: task.taskType,
            payload: JSON.stringify(task.payload),
            priority: task.priority,
            maxRetries: task.maxRetries,
            uniqueKey: task.uniqueKey,
            now,
            scheduledAt: task.scheduledAt,
          };
          const inserted = this.#run("insert", args, "get");
          if (inserted) return inserted.id as number;
          const live = this.#run("findLiveByKey", { uniqueKey: task.uniqueKey }, "get");
          return live!.id as number;
        }))
    );
  }

  dequeue(request: ClaimRequest): Promise<Task[]> {
    return settle(() =>
      transaction(this.#driver, () => {
        this.#run("recover", { now: request.now }, "run");
        const args = {
          now: request.now,
          workerId: request.workerId,
          leaseMs: request.leaseMs,
          leaseExpiresAt: request.now + request.leaseMs,
          limit: request.limit,
        };
        const rows = request.taskTypes
          ? this.#run(
            "claimTypes",
            { ...args, taskTypes: JSON.stringify(request.taskTypes) },
            "all",
          )
          : this.#run("claim", args, "all");
        // RETURNING does not keep the subquery's order.
        return rows.map(toTask).sort(claimOrder);
      })
    );
  }

  heartbeat(ref: LeaseRef, now: number): Promise<Outcome> {
    return settle(() =>
      this.#transition(ref, "heartbeat", { id: ref.id, attempts: ref.attempts, now })
    );
  }

  complete(ref: LeaseRef, result: JsonValue, now: number): Promise<Outcome> {
    return settle(() =>
      this.#transition(ref, "complete", {
        id: ref.id,
        attempts: ref.attempts,
        result: JSON.stringify(result),
        now,
      })
    );
  }

  fail(ref: LeaseRef, error: string, now: number, retryDelay: RetryDelay): Promise<Outcome> {
    return settle(() =>
      transaction(this.#driver, () => {
        const row = this.#run("get", { id: ref.id }, "get");
        if (!row || row.status !== TaskStatus.RUNNING) return this.#explain(ref, row);
        if (ref.attempts !== null && row.attempts !== ref.attempts) return this.#explain(ref, row);
        const retryCount = (row.retry_count as number) + 1;
        const delay = retryCount > (row.max_retries as number) ? null : retryDelay(retryCount);
        return this.#transition(ref, "fail", {
          id: ref.id,
          attempts: ref.attempts,
          status: delay === null ? TaskStatus.FAILED : TaskStatus.PENDING,
          error,
          now,
          scheduledAt: delay === null ? row.scheduled_at as number : now + delay,
          completedAt: delay === null ? now : null,
        });
      })
    );
  }

  cancel(id: number, now: number): Promise<Outcome> {
    return settle(() => this.#transition({ id, attempts: null }, "cancel", { id, now }));
  }

  retry(id: number, now: number): Promise<Outcome> {
    return settle(() => {
      try {
        return this.#transition({ id, attempts: null }, "retry", { id, now });
      } catch (error) {
        if (!String(error).includes("UNIQUE constraint failed")) throw error;
        return { ok: false, reason: "conflict", status: this.#get(id)!.status };
      }
    });
  }

  recover(now: number): Promise<number> {
    return settle(() => this.#run("recover", { now }, "run"));
  }

  get(id: number): Promise<Task | null> {
    return settle(() => this.#get(id));
  }

  stats(): Promise<QueueStats> {
    return settle(() => {
      const stats: QueueStats = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const row of this.#run("stats", {}, "all")) {
        stats[row.status as TaskStatus] = Number(row.count);
      }
      return stats;
    });
  }

  list(status: TaskStatus, limit: number, offset: number): Promise<Task[]> {
    return settle(() => this.#run("list", { status, limit, offset }, "all").map(toTask));
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

  #get(id: number): Task | null {
    const row = this.#run("get", { id }, "get");
    return row ? toTask(row) : null;
  }

  /** Runs a single-statement transition; on no match, says why. */
  #transition(ref: LeaseRef, key: keyof Prepared, args: Record<string, unknown>): Outcome {
    const row = this.#run(key, args, "get");
    if (row) return { ok: true, task: toTask(row) };
    return this.#explain(ref, this.#run("get", { id: ref.id }, "get"));
  }

  #explain(ref: LeaseRef, row: SqliteRow | undefined): Outcome {
    if (!row) return { ok: false, reason: "missing" };
    const status = row.status as TaskStatus;
    const fenced = ref.attempts !== null;
    return { ok: false, reason: fenced ? "lease_lost" : "state", status };
  }
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

function toTask(row: SqliteRow): Task {
  return {
    id: row.id as number,
    name: row.name as string,
    taskType: row.task_type as string,
    payload: JSON.parse(row.payload as string),
    priority: row.priority as TaskPriority,
    status: row.status as TaskStatus,
    result: row.result === null ? null : JSON.parse(row.result as string),
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
  };
}
