/**
 * Opens the SQLite engine: the entry `TaskQueue.open()` loads with a dynamic import when the queue
 * is a SQLite one, so that importing `mod.ts` loads neither drizzle nor a SQLite binding.
 *
 * @module
 */

import type { Engine } from "../engine.ts";
import type { AdoptedDriver, ConnectionOptions } from "../drivers/driver.ts";
import { adoptDriver, openDriver } from "../drivers/open.ts";
import { storageCodeOf, toStorageError } from "../drivers/_storage_error.ts";
import { existsSync } from "node:fs";
import { StorageError, ValidationError } from "../errors.ts";
import type { SqliteOptions } from "../queue_options.ts";
import { SqliteEngine } from "./engine.ts";
import { inspect } from "./_inspect.ts";
import { checkWal } from "./_wal_check.ts";
import { StorageGate, SYNC_BUSY_MS } from "./_storage_gate.ts";

/** The file a queue opens when given no path. */
export const DEFAULT_PATH = "tasks.db";

/**
 * Opens (creating and migrating it if needed) a SQLite queue: a file, `:memory:`, or a caller's
 * open database (a `DatabaseSync`, a bun `Database`, a Durable Object's storage or a driver).
 * With `readOnly`, the file is opened read-only: it must exist and be a queue at the latest
 * schema version, and nothing is written to it (no migration, no journal mode).
 * The file and its WAL are checked first (see `_wal_check.ts`, `_inspect.ts`); a locked one is
 * waited for without blocking.
 *
 * @param options Where and how.
 * @param now Recorded with the migrations it applies.
 * @returns The engine.
 * @throws {StorageError} The file is corrupt, not a queue, locked past `busyTimeoutMs`, ...
 */
export async function openSqlite(options: SqliteOptions, now: number): Promise<Engine> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const connection: ConnectionOptions = {
    synchronous: options.synchronous ?? "NORMAL",
    busyTimeoutMs: Math.min(busyTimeoutMs, SYNC_BUSY_MS),
  };
  const provided = options.database;
  if (provided && options.readOnly) {
    throw new ValidationError(
      "Invalid open options: readOnly opens path read-only; a database is opened by its caller (open it read-only there)",
    );
  }
  const check = options.integrityCheck ?? "quick";
  // before SQLite opens the file: its recovery would replay a damaged WAL in part and reset it
  if (!provided && check !== "off") await checkWal(options.path ?? DEFAULT_PATH);
  const driver = provided ? adoptDriver(provided) : await openPath(options);
  const gate = new StorageGate(busyTimeoutMs);
  try {
    await gate.run(() => {
      inspect(driver, { check, requireQueue: !provided });
      driver.configure?.(connection);
    });
    return await gate.run(() =>
      SqliteEngine.create(driver, { ownsDriver: !provided, now, busyTimeoutMs })
    );
  } catch (error) {
    if (!provided) closeQuietly(driver);
    throw atOpen(error);
  }
}

/**
 * Opens the file; a binding that cannot (a missing folder, say) rejects with a StorageError. A
 * read-only open refuses a missing file (SQLite would say only `unable to open database file`).
 */
async function openPath(options: SqliteOptions): Promise<AdoptedDriver> {
  const path = options.path ?? DEFAULT_PATH;
  const readOnly = options.readOnly ?? false;
  if (readOnly && path === ":memory:") {
    throw new ValidationError(
      'Invalid open options: readOnly needs a file (":memory:" is always a new, empty database)',
    );
  }
  if (readOnly && !existsSync(path)) {
    throw new StorageError("io", `no file at ${path} (a read-only open creates none)`, {
      action: "open the queue read-only",
    });
  }
  try {
    return await openDriver(path, options.driver, readOnly);
  } catch (error) {
    throw atOpen(toStorageError(error));
  }
}

/** A storage error met while opening, said as such: `Cannot open the queue: ...`. */
function atOpen(error: unknown): unknown {
  if (!(error instanceof StorageError) || error.message.startsWith("Cannot")) return error;
  const driverError = error.cause;
  const detail = storageCodeOf(driverError) === null
    ? error.message
    : (driverError as Error).message;
  return new StorageError(error.code, detail, { action: "open the queue", cause: driverError });
}

function closeQuietly(driver: AdoptedDriver): void {
  try {
    driver.close?.();
  } catch {
    // the error that stopped the open is the one to report
  }
}
