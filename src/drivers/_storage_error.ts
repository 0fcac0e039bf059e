/**
 * The one place a SQLite binding's error becomes a {@linkcode StorageError}: `node:sqlite` (Deno,
 * Node) and `bun:sqlite` report the same SQLite result codes in different shapes, and the engine
 * maps whatever leaves a driver through {@linkcode toStorageError}.
 *
 * - `node:sqlite` throws `{ code: "ERR_SQLITE_ERROR", errcode: 13, errstr }`; Deno's `exec()` leaves
 *   `errcode` out, so its message (SQLite's own `sqlite3_errstr()` text) is the fallback.
 * - `bun:sqlite` throws a `SQLiteError` with `code: "SQLITE_FULL"` (or an extended code, such as
 *   `SQLITE_IOERR_WRITE`) and `errno: 13`.
 * - A Durable Object's storage throws plain errors; those that carry a code are mapped alike.
 *
 * @module
 */

import { StorageError, type StorageErrorCode } from "../errors.ts";

/** SQLite's primary result codes that are storage conditions. */
const BY_RESULT_CODE: ReadonlyMap<number, StorageErrorCode> = new Map([
  [5, "busy"], // SQLITE_BUSY
  [6, "busy"], // SQLITE_LOCKED
  [8, "readonly"], // SQLITE_READONLY
  [10, "io"], // SQLITE_IOERR
  [11, "corrupt"], // SQLITE_CORRUPT
  [13, "full"], // SQLITE_FULL
  [14, "io"], // SQLITE_CANTOPEN
  [26, "corrupt"], // SQLITE_NOTADB
]);

/** The same, by name (`bun:sqlite`'s `code`, without an extended suffix). */
const BY_NAME: ReadonlyMap<string, StorageErrorCode> = new Map([
  ["SQLITE_BUSY", "busy"],
  ["SQLITE_LOCKED", "busy"],
  ["SQLITE_READONLY", "readonly"],
  ["SQLITE_IOERR", "io"],
  ["SQLITE_CORRUPT", "corrupt"],
  ["SQLITE_FULL", "full"],
  ["SQLITE_CANTOPEN", "io"],
  ["SQLITE_NOTADB", "corrupt"],
]);

/** `sqlite3_errstr()` of those codes: all a Deno `exec()` error says. */
const BY_ERRSTR: ReadonlyMap<string, StorageErrorCode> = new Map([
  ["database is locked", "busy"],
  ["database table is locked", "busy"],
  ["attempt to write a readonly database", "readonly"],
  ["disk I/O error", "io"],
  ["database disk image is malformed", "corrupt"],
  ["database or disk is full", "full"],
  ["unable to open database file", "io"],
  ["file is not a database", "corrupt"],
]);

interface DriverError {
  code?: unknown;
  errcode?: unknown;
  errno?: unknown;
  errstr?: unknown;
  message?: unknown;
}

/** The storage condition a binding's error reports, or `null` when it is none. */
export function storageCodeOf(error: unknown): StorageErrorCode | null {
  if (typeof error !== "object" || error === null || error instanceof StorageError) return null;
  const { code, errcode, errno, errstr, message } = error as DriverError;
  const number = typeof errcode === "number" ? errcode : typeof errno === "number" ? errno : null;
  if (number !== null) return BY_RESULT_CODE.get(number & 0xff) ?? null;
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    return BY_NAME.get(code.split("_", 2).join("_")) ?? null;
  }
  if (code !== "ERR_SQLITE_ERROR") return null;
  const text = typeof errstr === "string" ? errstr : typeof message === "string" ? message : "";
  // Deno appends the path to an open's message: `unable to open database file: /tmp/q.db`.
  return BY_ERRSTR.get(text) ?? BY_ERRSTR.get(text.split(": ", 1)[0]!) ?? null;
}

/**
 * A binding's error as a {@linkcode StorageError} (the driver's error as its `cause`) when it is
 * a storage condition; any other error as it is.
 *
 * @param error What a driver threw.
 * @returns The error to throw.
 */
export function toStorageError(error: unknown): unknown {
  const code = storageCodeOf(error);
  if (code === null) return error;
  return new StorageError(code, (error as Error).message, { cause: error });
}
