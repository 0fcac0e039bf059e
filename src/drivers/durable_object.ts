/**
 * The {@linkcode SqliteDriver} over a Cloudflare Durable Object's SQLite storage
 * (`ctx.storage`). Its `sql.exec` refuses `BEGIN`, `COMMIT` and `SAVEPOINT`: transactions go
 * through `transactionSync`. The platform owns the connection, so there is nothing to configure
 * or close (no WAL or `synchronous` PRAGMA: the Durable Object's storage layer makes every write
 * durable).
 *
 * @module
 */

import type { AdoptedDriver, SqliteRow, SqliteValue } from "./driver.ts";

/** A cursor over the rows `sql.exec` returned. */
export interface DurableObjectCursor extends Iterable<Record<string, unknown>> {
  /** Every remaining row. */
  toArray(): Record<string, unknown>[];
}

/** The part of a Durable Object's `ctx.storage` the adapter uses. */
export interface DurableObjectStorage {
  /** The SQL API. */
  readonly sql: {
    /** Runs one statement with bindings (or several without). */
    exec(query: string, ...bindings: unknown[]): DurableObjectCursor;
  };
  /** Runs `fn` in a transaction: committed when it returns, rolled back when it throws. */
  transactionSync<T>(fn: () => T): T;
}

/** Whether a value looks like a Durable Object's storage. */
export function isDurableObjectStorage(value: unknown): value is DurableObjectStorage {
  const storage = value as Partial<DurableObjectStorage> | null;
  return typeof storage?.transactionSync === "function" &&
    typeof storage.sql?.exec === "function";
}

/** Wraps a Durable Object's storage. */
export function wrap(storage: DurableObjectStorage): AdoptedDriver {
  const { sql } = storage;
  const first = (cursor: DurableObjectCursor): SqliteRow | undefined => {
    for (const row of cursor) return row;
    return undefined;
  };
  return {
    name: "durable-object",
    exec: (text) => void sql.exec(text).toArray(),
    prepare(text) {
      // The platform caches prepared statements by their text: preparing is exec's job.
      return {
        all: (params: readonly SqliteValue[]) => sql.exec(text, ...params).toArray(),
        get: (params: readonly SqliteValue[]) => first(sql.exec(text, ...params)),
        run(params: readonly SqliteValue[]) {
          sql.exec(text, ...params).toArray();
          return Number(first(sql.exec("SELECT changes() AS changes"))?.changes ?? 0);
        },
      };
    },
    transaction: (fn) => storage.transactionSync(fn),
  };
}
