/**
 * The small seam between the SQLite engine and a runtime's SQLite binding. One adapter per
 * binding lives beside this file (`node_sqlite.ts`, `bun_sqlite.ts`), each with the same shape.
 *
 * Adapters hide the bindings' differences: a missing row is `undefined`, integers are read as
 * numbers (the queue never stores one past 2^53), and `undefined`/booleans never reach the binding.
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
 *   close: () => db.close(),
 * };
 * ```
 */
export interface SqliteDriver {
  /** The binding's name, for diagnostics: `node:sqlite`, `bun:sqlite` or your own. */
  readonly name: string;
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  /** Prepares a statement. */
  prepare(sql: string): SqliteStatement;
  /** Closes the connection. */
  close(): void;
}

/** The built-in bindings `TaskQueue.open()` can choose from. */
export type SqliteBinding = "node:sqlite" | "bun:sqlite";
