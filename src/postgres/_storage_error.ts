/**
 * The one mapping of a PostgreSQL error (a server's SQLSTATE, or postgres.js's connection error
 * codes) to a {@linkcode StorageError}'s code; anything else (a bug, a constraint) passes as it is.
 *
 * @module
 */

import { StorageError, type StorageErrorCode } from "../errors.ts";

/** postgres.js's own codes for a connection that could not be made or was lost. */
const CONNECTION = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "EPIPE",
]);

/** The storage condition of `error`, or `null` when it is none. */
export function storageCodeOf(error: unknown): StorageErrorCode | null {
  if (typeof error !== "object" || error === null) return null;
  const code = String((error as { code?: unknown }).code ?? "");
  if (CONNECTION.has(code)) return "io";
  if (code === "53100" || code === "53200") return "full"; // disk_full, out_of_memory
  if (code === "40001" || code === "40P01" || code === "55P03" || code === "57014") return "busy";
  if (code === "25006") return "readonly"; // read_only_sql_transaction
  if (code === "XX001" || code === "XX002") return "corrupt"; // data_corrupted, index_corrupted
  if (code.startsWith("08") || code.startsWith("57P")) return "io"; // connection, shutdown
  return null;
}

/** `error` as a StorageError when it is a storage condition; otherwise `error` itself. */
export function toStorageError(error: unknown): unknown {
  if (error instanceof StorageError) return error;
  const code = storageCodeOf(error);
  if (code === null) return error;
  return new StorageError(code, (error as Error).message, { cause: error });
}
