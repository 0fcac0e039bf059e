/**
 * The {@linkcode SqliteDriver} over `bun:sqlite` (Bun only). Loaded with a dynamic import so that
 * other runtimes never see the `bun:` specifier.
 *
 * @module
 */

import type { AdoptedDriver, ConnectionOptions, SqliteRow } from "./driver.ts";
import { closeFile, configure, immediate } from "./_file.ts";
import type { ReadOnlyFile } from "./_read_only.ts";

/** The part of `bun:sqlite`'s `Database` the adapter uses. */
export interface BunSqliteDatabase {
  /** Runs statements without parameters. */
  exec(sql: string): void;
  /** Prepares a statement. */
  prepare(sql: string): {
    /** Every row. */
    all(...params: never[]): unknown[];
    /** The first row. */
    get(...params: never[]): unknown;
    /** Runs it. */
    run(...params: never[]): { changes: number };
    /** Whether integers are read as BigInt. */
    safeIntegers?(enabled: boolean): unknown;
    /** Frees the statement. */
    finalize?(): void;
  };
  /** Whether a transaction is open. */
  readonly inTransaction?: boolean;
  /** Prepares and caches a statement (how a bun `Database` is told apart). */
  query: unknown;
  /** Closes the connection. */
  close(): void;
}

/**
 * Wraps an open bun:sqlite `Database` (its `configure` sets the connection up).
 *
 * @param db The connection.
 * @param readOnly Set when the queue opened the file read-only: how to close it.
 */
export function wrap(db: BunSqliteDatabase, readOnly?: ReadOnlyFile): AdoptedDriver {
  // bun's close() leaves a connection with unfinalized statements open until they are collected
  // (so the WAL stays behind): close finalizes them first.
  const statements: { finalize?(): void }[] = [];
  return {
    name: "bun:sqlite",
    ...(readOnly ? { readOnly: true } : {}),
    exec: (sql) => db.exec(sql),
    configure: (options: ConnectionOptions) => configure(db, options, readOnly !== undefined),
    prepare(sql) {
      const statement = db.prepare(sql);
      statements.push(statement);
      // A caller's handle may use safeIntegers (BigInt); the seam reads numbers.
      statement.safeIntegers?.(false);
      return {
        all: (params) => statement.all(...params as never[]) as SqliteRow[],
        // bun:sqlite returns null for no row; the seam says undefined.
        get: (params) =>
          (statement.get(...params as never[]) ?? undefined) as SqliteRow | undefined,
        run: (params) => statement.run(...params as never[]).changes,
      };
    },
    transaction: (fn) => immediate(db, fn),
    inTransaction: () => db.inTransaction === true,
    release() {
      for (const statement of statements.splice(0)) statement.finalize?.();
    },
    close() {
      this.release!();
      if (readOnly) readOnly.close(db);
      else closeFile(db);
    },
  };
}

/**
 * Opens a file (or `:memory:`) with `bun:sqlite`.
 *
 * @param path The file.
 * @param readOnly Open it read-only (SQLite then fails every write with `SQLITE_READONLY`).
 * @returns The driver, not configured yet.
 */
export async function open(path: string, readOnly = false): Promise<AdoptedDriver> {
  const specifier = "bun:sqlite";
  const { Database } = await import(specifier);
  if (!readOnly) {
    return wrap(new Database(path, { create: true, strict: false }) as BunSqliteDatabase);
  }
  const { readOnlyFile } = await import("./_read_only.ts");
  const file = readOnlyFile(
    path,
    () =>
      new Database(path, { readwrite: true, create: false, strict: false }) as BunSqliteDatabase,
  );
  return wrap(new Database(path, { readonly: true, strict: false }) as BunSqliteDatabase, file);
}
