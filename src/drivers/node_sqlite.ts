/**
 * The {@linkcode SqliteDriver} over `node:sqlite` (Node.js >= 22.5, Deno, Bun).
 *
 * @module
 */

import type { AdoptedDriver, ConnectionOptions, SqliteRow } from "./driver.ts";
import { closeFile, configure, immediate } from "./_file.ts";
import type { ReadOnlyFile } from "./_read_only.ts";

/** The part of `node:sqlite`'s `DatabaseSync` the adapter uses. */
export interface NodeSqliteDatabase {
  /** Runs statements without parameters. */
  exec(sql: string): void;
  /** Prepares a statement. */
  prepare(sql: string): {
    /** Every row. */
    all(...params: never[]): unknown[];
    /** The first row. */
    get(...params: never[]): unknown;
    /** Runs it. */
    run(...params: never[]): { changes: number | bigint };
    /** Whether integers are read as BigInt. */
    setReadBigInts?(enabled: boolean): unknown;
  };
  /** Whether a transaction is open (Node.js >= 22.16, Deno, Bun). */
  readonly isTransaction?: boolean;
  /** Closes the connection. */
  close(): void;
}

/** A statement that writes (its commit can fail after its first row). */
const WRITE = /^\s*(?:insert|update|delete|replace)\b/i;

/**
 * Wraps an open `DatabaseSync` (its `configure` sets the connection up).
 *
 * @param db The connection.
 * @param readOnly Set when the queue opened the file read-only: how to close it.
 */
export function wrap(db: NodeSqliteDatabase, readOnly?: ReadOnlyFile): AdoptedDriver {
  return {
    name: "node:sqlite",
    ...(readOnly ? { readOnly: true } : {}),
    exec: (sql) => db.exec(sql),
    configure: (options: ConnectionOptions) => configure(db, options, readOnly !== undefined),
    prepare(sql) {
      const statement = db.prepare(sql);
      // A caller's handle may read integers as BigInt; the seam reads numbers.
      statement.setReadBigInts?.(false);
      // node:sqlite's get() steps once and resets: outside a transaction, the reset is what
      // commits a write, and its error (SQLITE_FULL when the WAL cannot grow) is dropped, so an
      // `INSERT … RETURNING` would return a row that was never stored. A write steps to the end.
      const writes = WRITE.test(sql);
      return {
        all: (params) => statement.all(...params as never[]) as SqliteRow[],
        get: writes
          ? (params) => (statement.all(...params as never[]) as SqliteRow[])[0]
          : (params) => statement.get(...params as never[]) as SqliteRow | undefined,
        run: (params) => Number(statement.run(...params as never[]).changes),
      };
    },
    transaction: (fn) => immediate(db, fn),
    ...(typeof db.isTransaction === "boolean" ? { inTransaction: () => db.isTransaction! } : {}),
    close: () => readOnly ? readOnly.close(db) : closeFile(db),
  };
}

/**
 * Opens a file (or `:memory:`) with `node:sqlite`.
 *
 * @param path The file.
 * @param readOnly Open it read-only (SQLite then fails every write with `SQLITE_READONLY`).
 * @returns The driver, not configured yet.
 */
export async function open(path: string, readOnly = false): Promise<AdoptedDriver> {
  const { DatabaseSync } = await import("node:sqlite");
  const connect = (readOnly: boolean) =>
    new DatabaseSync(path, { readOnly }) as unknown as NodeSqliteDatabase;
  if (!readOnly) return wrap(connect(false));
  const { readOnlyFile } = await import("./_read_only.ts");
  const file = readOnlyFile(path, () => connect(false));
  return wrap(connect(true), file);
}
