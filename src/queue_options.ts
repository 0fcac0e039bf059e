/**
 * The options of {@linkcode TaskQueue} and its methods, and the reference a transition takes.
 *
 * @module
 */

import type { BackoffOptions } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import type { WorkerRecord } from "./engine.ts";
import type { IntegrityCheck, SqliteBinding, Synchronous } from "./drivers/driver.ts";
import type { SqliteDatabase } from "./drivers/open.ts";
import type { Logger } from "./logger.ts";
import type { Notifier } from "./notifier.ts";
import type { RetryPolicy, Task, TaskPriority } from "./task.ts";

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
   * Concurrency key (a tenant, an account): the task type's per-key limits
   * (`concurrencyPerKey`, `ratePerKey` of {@linkcode TaskQueue.setLimits}) count it with the other
   * tasks of its key, and claims of such a type rotate across keys, so that one key's backlog
   * does not starve another's.
   */
  concurrencyKey?: string | undefined;
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
  /**
   * How long the per-minute history ({@linkcode TaskQueue.history}) keeps its buckets, at least
   * an hour; older ones are rolled up into the all-time counts per task type. Without a retention
   * policy, upkeep keeps the default too.
   *
   * @default {172_800_000}
   */
  historyMs?: number;
}

/** Limits on a task type: `null` clears one; an omitted one is cleared too. */
export interface LimitOptions {
  /** At most this many running at once, across every process. */
  concurrency?: number | null | undefined;
  /** At most `max` claims per `intervalMs`, across every process. */
  rate?: { max: number; intervalMs: number } | null | undefined;
  /**
   * At most this many running at once per concurrency key (tasks enqueued with the same
   * `concurrencyKey`), across every process. A type with a per-key limit is claimed fairly:
   * claims rotate across its keys.
   */
  concurrencyPerKey?: number | null | undefined;
  /** At most `max` claims per `intervalMs` per concurrency key, across every process. */
  ratePerKey?: { max: number; intervalMs: number } | null | undefined;
}

/**
 * A worker as it registers in the worker registry (and beats, by registering again): the queue
 * stamps each beat with its clock.
 */
export interface WorkerRegistration {
  /** Its id: the `workerId` it records on the tasks it claims. */
  id: string;
  /**
   * The host it runs on.
   *
   * @default {""}
   */
  host?: string;
  /**
   * Its process id.
   *
   * @default {null}
   */
  pid?: number | null;
  /**
   * Its runtime, such as `deno 2.5.0`.
   *
   * @default {""}
   */
  runtime?: string;
  /**
   * The task types it claims (`null`: every type).
   *
   * @default {null}
   */
  taskTypes?: readonly string[] | null;
  /** How many handlers it runs at once. */
  concurrency: number;
  /** When it started, epoch ms. */
  startedAt: number;
  /** How often it beats, in ms: after {@linkcode WORKER_DEAD_AFTER_BEATS} missed, it is dead. */
  beatIntervalMs: number;
}

/** A registered worker, as {@linkcode QueueReader.workers} lists it. */
export interface WorkerInfo extends WorkerRecord {
  /** Whether it still beats; a dead one's leases are recovered early, and it is forgotten later. */
  alive: boolean;
}

/** How long to wait for a task to finish. */
export interface WaitOptions {
  /**
   * Give up after this many ms (on the queue's clock) with a {@linkcode WaitTimeoutError}.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
  /**
   * How often to read the task again, for a finish in another process (in this process it is
   * seen at once).
   *
   * @default {1000}
   */
  pollIntervalMs?: number;
  /** Aborts the wait: it rejects with the signal's `reason`. */
  signal?: AbortSignal;
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

/** How the queue behaves, whatever stores it. */
export interface QueueOptions {
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
   * How far the clocks of the processes sharing the file may disagree, in ms. Each process writes
   * its own time into shared rows (due times, leases), so a clock ahead schedules tasks late for
   * everyone and a clock behind claims nothing. The queue warns (its logger, and a `clock_skew`
   * event) once per incident when its clock jumps by more than this against the clock's monotonic
   * time, or when at open its clock is this far behind the newest time another writer recorded.
   *
   * @default {60_000}
   */
  clockToleranceMs?: number;
  /**
   * Wakes idle workers of this queue when tasks may be ready (a latency hint; polling stays the
   * source of truth). On PostgreSQL the default also reaches other processes on the schema
   * (`LISTEN/NOTIFY`, on one more connection); one given here replaces it.
   *
   * @default {a new LocalNotifier; on PostgreSQL, LISTEN/NOTIFY on the schema's channel}
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

/** Where and how a SQLite queue is stored. */
export interface SqliteOptions {
  /**
   * The SQLite file, or `":memory:"`.
   *
   * @default {"tasks.db"}
   */
  path?: string;
  /**
   * An open database to use instead of opening `path`: a `node:sqlite` `DatabaseSync`, a
   * `bun:sqlite` `Database`, a Cloudflare Durable Object's `ctx.storage`, or any
   * {@linkcode SqliteDriver}. The queue configures it (WAL, `synchronous`, busy timeout; nothing in
   * a Durable Object), migrates it and leaves it open on {@linkcode TaskQueue.close}.
   */
  database?: SqliteDatabase;
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
   * How long a call waits for another connection's lock before it fails with a
   * {@linkcode StorageError} of code `busy`. The wait does not block the event loop: SQLite waits
   * at most 50 ms at a time, the queue retries on timers in between.
   *
   * @default {5000}
   */
  busyTimeoutMs?: number;
  /**
   * How the file is checked when the queue opens it: `"quick"` runs `PRAGMA quick_check` (every
   * page and record well formed; it reads the whole file: about 40-110 ms at open for 100,000
   * small tasks, a 17 MB file), `"full"` runs `PRAGMA integrity_check` (indexes against their
   * tables too: about twice that), `"off"` skips it (about 3 ms). A file
   * that fails is refused with a {@linkcode StorageError} of code `corrupt` and left as it is.
   * Whatever this says, a `path` that is not a SQLite file, or a SQLite database with tables but
   * not a tasklite queue, is refused the same way (an empty or 0-byte file is a new queue, as
   * SQLite treats it as an empty database). A Durable Object's storage is not checked (its
   * platform refuses the PRAGMAs and owns its integrity). Unless `"off"`, the file's `-wal` is
   * read first (about 2-7 ms for a 4 MB WAL) and refused the same way when SQLite would drop
   * committed transactions from it (a bad checksum before commits, a damaged header, a cut, an
   * emptied file under it).
   *
   * @default {"quick"}
   */
  integrityCheck?: IntegrityCheck;
  /**
   * Opens `path` read-only (the `tasklite` CLI's read commands do): the file must exist and be a
   * tasklite queue (anything else, an empty file included, is refused with a
   * {@linkcode StorageError} of code `corrupt`), and nothing is written to it: no migration (a
   * queue whose schema is older than this version's is refused with code `readonly`: open it
   * read-write once), no `PRAGMA journal_mode`, no checkpoint at close. Reads work as usual, every
   * write fails with a {@linkcode StorageError} of code `readonly`. A WAL-mode file that no
   * connection has open gets a `-wal` and a `-shm` while it is read (SQLite needs them to read
   * it); the queue removes them at close unless another connection has the file open or the
   * folder is not writable. Not with `database` (open that one read-only yourself).
   *
   * @default {false}
   */
  readOnly?: boolean;
}

/**
 * Where a PostgreSQL queue is stored. `TaskQueue.open("postgres://user@host/db")` is the same as
 * `{ postgres: "postgres://user@host/db" }`. The engine and the `postgres` driver are loaded only
 * when such a queue is opened; its schema is created and migrated at the first open.
 */
export interface PostgresOptions {
  /**
   * A connection URL (`postgres://` or `postgresql://`), or an open postgres.js client (`sql`
   * from `postgres(url)`), which the queue uses and leaves open on {@linkcode TaskQueue.close}.
   */
  postgres?: string | PostgresClient;
  /**
   * The schema the queue's tables live in (created if missing): one queue per schema.
   *
   * @default {"tasklite"}
   */
  schema?: string;
}

/** An open postgres.js client (`postgres(url)`), as the `postgres` open option takes it. */
export type PostgresClient = import("postgres").Sql;

/** An open postgres.js transaction: the `sql` that `sql.begin(async (sql) => …)` hands over. */
export type PostgresTransaction = import("postgres").TransactionSql;

/**
 * An application's open transaction on a SQLite queue's own connection (the queue opened with
 * `database`): `true` says one is open (`BEGIN` on the `DatabaseSync` or bun `Database`, or inside
 * a Durable Object's `transactionSync`), or a drizzle SQLite transaction (the `tx` of
 * `db.transaction((tx) => …)`) over that same connection.
 */
export type SqliteTransaction = true | { rollback(): never };

/**
 * Where {@linkcode TaskQueue.enqueue} and {@linkcode TaskQueue.enqueueMany} write: by default in a
 * transaction of their own; with `transaction`, inside the caller's, so that the application's
 * rows and its tasks commit or roll back together.
 *
 * @example Enqueue with the application's row (SQLite, the queue on the application's handle)
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { TaskQueue } from "@tasklite/tasklite";
 *
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)");
 * const queue = await TaskQueue.open({ database: db });
 * db.exec("BEGIN IMMEDIATE");
 * try {
 *   const { lastInsertRowid } = db.prepare("INSERT INTO users (email) VALUES (?)").run("a@b.c");
 *   await queue.enqueue(
 *     { name: "Welcome", taskType: "email", payload: { userId: Number(lastInsertRowid) } },
 *     { transaction: true },
 *   );
 *   db.exec("COMMIT"); // workers are woken and `enqueued` is emitted after this
 * } catch (error) {
 *   db.exec("ROLLBACK"); // no task, no event, no wake-up
 *   throw error;
 * }
 * await queue.close();
 * ```
 *
 * @example Enqueue with the application's row (PostgreSQL)
 * ```ts ignore
 * import postgres from "postgres";
 * import { TaskQueue } from "@tasklite/tasklite";
 *
 * const sql = postgres("postgres://localhost/app");
 * const queue = await TaskQueue.open({ postgres: sql });
 * await sql.begin(async (tx) => {
 *   const [user] = await tx`INSERT INTO users (email) VALUES ('a@example.com') RETURNING id`;
 *   await queue.enqueue(
 *     { name: "Welcome", taskType: "email", payload: { userId: user!.id } },
 *     { transaction: tx },
 *   );
 * });
 * await queue.close();
 * await sql.end();
 * ```
 */
export interface TransactionOptions {
  /**
   * The caller's open transaction, on the queue's database. The tasks are visible to workers once
   * it commits and never if it rolls back.
   *
   * On PostgreSQL: a postgres.js transaction (`sql.begin`); idle workers are woken (`NOTIFY`,
   * which PostgreSQL delivers at commit), and no `enqueued` event is emitted.
   *
   * On SQLite ({@linkcode SqliteTransaction}: `true`, or a drizzle transaction, on the connection
   * the queue shares): the rows are written in a SAVEPOINT of it, synchronously, before the call
   * returns its promise (so a synchronous transaction callback can enqueue too; check its promise
   * afterwards: a rejected one wrote nothing), and never batched with other calls. The queue's
   * own calls (claims, other enqueues) wait until the transaction ends; then the queue reads back
   * which of the tasks it committed and wakes workers and emits `enqueued` for those only. A
   * transaction begun with plain `BEGIN` may fail the insert with a `StorageError` `busy` when
   * another connection writes: begin it with `BEGIN IMMEDIATE`.
   *
   * @default {undefined (a transaction of the queue's own)}
   */
  transaction?: PostgresTransaction | SqliteTransaction;
}

/** How to open a queue: the queue's options and its storage's. */
export interface OpenOptions extends QueueOptions, SqliteOptions, PostgresOptions {}

/**
 * A task for a transition: a claimed `Task` (or anything with its `id` and `attempts`, fenced by
 * that lease), or a bare id (acts on whichever run is current).
 */
export type TaskRef = number | Pick<Task, "id" | "attempts">;
