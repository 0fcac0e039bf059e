/**
 * Picks and opens a SQLite binding at run time, or wraps a caller's open database. The `bun:`
 * specifier is only ever imported on Bun.
 *
 * @module
 */

import type { AdoptedDriver, SqliteBinding, SqliteDriver } from "./driver.ts";
import * as bunSqlite from "./bun_sqlite.ts";
import * as durableObject from "./durable_object.ts";
import { immediate } from "./_file.ts";
import * as nodeSqlite from "./node_sqlite.ts";
import { ValidationError } from "../errors.ts";

/** What `TaskQueue.open({ database })` accepts. */
export type SqliteDatabase =
  | SqliteDriver
  | nodeSqlite.NodeSqliteDatabase
  | bunSqlite.BunSqliteDatabase
  | durableObject.DurableObjectStorage;

/**
 * Opens `path` with the chosen binding, by default `bun:sqlite` on Bun and `node:sqlite` elsewhere.
 *
 * @param path The file, or `:memory:`.
 * @param binding The binding.
 * @param readOnly Open it read-only: nothing is written, a missing file is not created.
 * @returns The driver, not configured yet (its `configure` sets WAL and the rest).
 */
export function openDriver(
  path: string,
  binding: SqliteBinding | undefined,
  readOnly = false,
): Promise<AdoptedDriver> {
  const onBun = "Bun" in globalThis;
  const chosen = binding ?? (onBun ? "bun:sqlite" : "node:sqlite");
  if (chosen === "bun:sqlite" && !onBun) {
    return Promise.reject(
      new ValidationError(`Invalid open options: driver "bun:sqlite" needs the Bun runtime`),
    );
  }
  return chosen === "bun:sqlite" ? bunSqlite.open(path, readOnly) : nodeSqlite.open(path, readOnly);
}

/**
 * Wraps a caller's open database, whichever binding it comes from, not configured yet (the
 * driver's `configure`, if any, sets it up; a Durable Object's storage needs none). A driver
 * without `transaction` gets `BEGIN IMMEDIATE`.
 *
 * @param database A `node:sqlite` `DatabaseSync`, a `bun:sqlite` `Database`, a Durable Object's
 * `ctx.storage`, or a driver.
 * @returns The driver.
 */
export function adoptDriver(database: SqliteDatabase): AdoptedDriver {
  if (durableObject.isDurableObjectStorage(database)) return durableObject.wrap(database);
  if ("name" in database && typeof database.name === "string") {
    const driver = database as SqliteDriver;
    if (driver.transaction) return driver as AdoptedDriver;
    return Object.assign(Object.create(driver), {
      transaction: <T>(fn: () => T) => immediate({ exec: (sql) => driver.exec(sql) }, fn),
    }) as AdoptedDriver;
  }
  if ("query" in database && typeof database.query === "function") {
    return bunSqlite.wrap(database as bunSqlite.BunSqliteDatabase);
  }
  if (typeof database?.prepare === "function" && typeof database.exec === "function") {
    return nodeSqlite.wrap(database as nodeSqlite.NodeSqliteDatabase);
  }
  throw new ValidationError(
    "Invalid open options: database must be a node:sqlite DatabaseSync, a bun:sqlite Database, a Durable Object's storage or a SqliteDriver",
  );
}
