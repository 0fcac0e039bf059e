/**
 * The {@linkcode SqliteDriver} over `node:sqlite` (Node.js >= 22.5, Deno, Bun).
 *
 * @module
 */

import type { SqliteDriver, SqliteRow } from "./driver.ts";

/** The part of `node:sqlite`'s `DatabaseSync` the adapter uses. */
export interface NodeSqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): {
    all(...params: never[]): unknown[];
    get(...params: never[]): unknown;
    run(...params: never[]): { changes: number | bigint };
    setReadBigInts?(enabled: boolean): unknown;
  };
  close(): void;
}

/** Wraps an open `DatabaseSync`. */
export function wrap(db: NodeSqliteDatabase): SqliteDriver {
  return {
    name: "node:sqlite",
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const statement = db.prepare(sql);
      // A caller's handle may read integers as BigInt; the seam reads numbers.
      statement.setReadBigInts?.(false);
      return {
        all: (params) => statement.all(...params as never[]) as SqliteRow[],
        get: (params) => statement.get(...params as never[]) as SqliteRow | undefined,
        run: (params) => Number(statement.run(...params as never[]).changes),
      };
    },
    close: () => db.close(),
  };
}

/** Opens a file (or `:memory:`) with `node:sqlite`. */
export async function open(path: string): Promise<SqliteDriver> {
  const { DatabaseSync } = await import("node:sqlite");
  return wrap(new DatabaseSync(path) as unknown as NodeSqliteDatabase);
}
