/**
 * Picks and opens a SQLite binding at run time, or wraps a caller's open database. The `bun:`
 * specifier is only ever imported on Bun.
 *
 * @module
 */

import type { SqliteBinding, SqliteDriver } from "./driver.ts";
import * as bunSqlite from "./bun_sqlite.ts";
import * as nodeSqlite from "./node_sqlite.ts";

/**
 * Opens `path` with the chosen binding, by default `bun:sqlite` on Bun and `node:sqlite` elsewhere.
 *
 * @param path The file, or `:memory:`.
 * @param binding The binding.
 * @returns The driver.
 */
export function openDriver(path: string, binding?: SqliteBinding): Promise<SqliteDriver> {
  const onBun = "Bun" in globalThis;
  const chosen = binding ?? (onBun ? "bun:sqlite" : "node:sqlite");
  if (chosen === "bun:sqlite" && !onBun) {
    return Promise.reject(
      new TypeError(`Invalid open options: driver "bun:sqlite" needs the Bun runtime`),
    );
  }
  return chosen === "bun:sqlite" ? bunSqlite.open(path) : nodeSqlite.open(path);
}

/**
 * Wraps a caller's open database, whichever binding it comes from.
 *
 * @param database A `node:sqlite` `DatabaseSync`, a `bun:sqlite` `Database` or a driver.
 * @returns The driver.
 */
export function adoptDriver(
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
