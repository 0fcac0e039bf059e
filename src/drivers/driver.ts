/**
 * The small seam between the SQLite engine and a runtime's SQLite binding. One adapter per
 * binding lives beside this file (`node_sqlite.ts`, `bun_sqlite.ts`, `durable_object.ts`), each
 * with the same shape: `wrap(handle, options)` and, where a path can be opened, `open(path, options)`.
 *
 * Adapters hide the bindings' differences: a missing row is `undefined`, integers are read as
 * numbers (the queue never stores one past 2^53), and `undefined`/booleans never reach the binding.
 * Each adapter owns what only its binding has: how a write transaction is taken, connection
 * PRAGMAs, and closing.
 *
 * @module
 */

/** A value SQLite can bind. */
export type SqliteValue = string | number | bigint | Uint8Array | null;

/** A result row, by column name. */
export type SqliteRow = Record<string, unknown>;

/** A prepared statement with positional parameters. */
export interface SqliteStatement {
  /** Every row. */
  all(params: readonly SqliteValue[]): SqliteRow[];
  /** The first row, or `undefined`. */
  get(params: readonly SqliteValue[]): SqliteRow | undefined;
  /** Runs it; returns how many rows changed. */
  run(params: readonly SqliteValue[]): number;
}

/**
 * An open SQLite connection.
 *
 * @example A driver over any binding
 * ```ts
 * import type { SqliteDriver } from "@tasklite/tasklite";
 * import { DatabaseSync } from "node:sqlite";
 *
 * const db = new DatabaseSync(":memory:");
 * const driver: SqliteDriver = {
 *   name: "custom",
 *   exec: (sql) => db.exec(sql),
 *   prepare(sql) {
 *     const statement = db.prepare(sql);
 *     return {
 *       all: (params) => statement.all(...params),
 *       get: (params) => statement.get(...params),
 *       run: (params) => Number(statement.run(...params).changes),
 *     };
 *   },
 *   transaction(fn) {
 *     db.exec("BEGIN IMMEDIATE");
 *     try {
 *       const result = fn();
 *       db.exec("COMMIT");
 *       return result;
 *     } catch (error) {
 *       db.exec("ROLLBACK");
 *       throw error;
 *     }
 *   },
 *   close: () => db.close(),
 * };
 * ```
 */
export interface SqliteDriver {
  /** The binding's name, for diagnostics: `node:sqlite`, `bun:sqlite`, `durable-object` or yours. */
  readonly name: string;
  /** Runs one or more statements without parameters (migrations). */
  exec(sql: string): void;
  /** Prepares a statement. */
  prepare(sql: string): SqliteStatement;
  /**
   * Runs `fn` as one write transaction: committed when it returns, rolled back when it throws.
   * `BEGIN IMMEDIATE` on a file (the write lock is taken up front), `transactionSync` in a Durable
   * Object. A driver without it gets `BEGIN IMMEDIATE`/`COMMIT` through `exec`.
   */
  transaction?<T>(fn: () => T): T;
  /**
   * Whether a transaction is open on the connection right now (`DatabaseSync.isTransaction`,
   * bun's `inTransaction`). With it, the queue enqueues inside an application's open transaction
   * only when there is one, holds its own calls until that transaction ends, and announces the
   * tasks enqueued in it once it has ended. A driver without it is trusted (as in a Durable
   * Object, whose `transactionSync` ends before any other call can run).
   */
  inTransaction?(): boolean;
  /**
   * Sets the connection up when the queue adopts it (the file drivers set WAL, the busy timeout
   * and `synchronous`). A driver without it is used as it is.
   */
  configure?(options: ConnectionOptions): void;
  /** Closes the connection (absent where the platform owns it, as in a Durable Object). */
  close?(): void;
  /**
   * Drops what the driver prepared and leaves the connection open: called instead of `close`
   * when the queue closes on a caller's connection (bun:sqlite keeps a connection open while any
   * of its statements lives, so the caller's own `close()` would otherwise leave the file open).
   */
  release?(): void;
}

/**
 * A driver as the engine uses it: its `transaction` is always there, and `readOnly` is set when
 * the queue opened the file read-only (the engine then migrates nothing).
 */
export type AdoptedDriver = SqliteDriver & {
  transaction<T>(fn: () => T): T;
  readonly readOnly?: boolean;
};

/** The built-in bindings `TaskQueue.open()` can choose from. */
export type SqliteBinding = "node:sqlite" | "bun:sqlite";

/** The `PRAGMA synchronous` levels. */
export type Synchronous = "OFF" | "NORMAL" | "FULL" | "EXTRA";

/**
 * How a queue checks its file when it opens it, one source for {@linkcode IntegrityCheck}:
 * `quick` runs `PRAGMA quick_check` (every page and record is well formed), `full` runs
 * `PRAGMA integrity_check` (also that every index matches its table: slower), `off` none.
 *
 * @example Usage
 * ```ts
 * import { INTEGRITY_CHECKS } from "@tasklite/tasklite";
 *
 * console.log(INTEGRITY_CHECKS); // ["quick", "full", "off"]
 * ```
 */
export const INTEGRITY_CHECKS = ["quick", "full", "off"] as const;

/** One of {@linkcode INTEGRITY_CHECKS}. */
export type IntegrityCheck = typeof INTEGRITY_CHECKS[number];

/** How a file connection is set up. */
export interface ConnectionOptions {
  /** `PRAGMA synchronous`. */
  synchronous: Synchronous;
  /**
   * How long one statement waits synchronously for another connection's lock (`busy_timeout`):
   * short, because the engine retries on timers after it (up to the queue's `busyTimeoutMs`).
   */
  busyTimeoutMs: number;
}
