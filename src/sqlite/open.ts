/**
 * Opens the SQLite engine: the entry `TaskQueue.open()` loads with a dynamic import when the queue
 * is a SQLite one, so that importing `mod.ts` loads neither drizzle nor a SQLite binding.
 *
 * @module
 */

import type { Engine } from "../engine.ts";
import type { ConnectionOptions } from "../drivers/driver.ts";
import { adoptDriver, openDriver } from "../drivers/open.ts";
import type { SqliteOptions } from "../queue_options.ts";
import { SqliteEngine } from "./engine.ts";

/** The file a queue opens when given no path. */
export const DEFAULT_PATH = "tasks.db";

/**
 * Opens (creating and migrating it if needed) a SQLite queue: a file, `:memory:`, or a caller's
 * open database (a `DatabaseSync`, a bun `Database`, a Durable Object's storage or a driver).
 *
 * @param options Where and how.
 * @param now Recorded with the migrations it applies.
 * @returns The engine.
 */
export async function openSqlite(options: SqliteOptions, now: number): Promise<Engine> {
  const connection: ConnectionOptions = {
    synchronous: options.synchronous ?? "NORMAL",
    busyTimeoutMs: options.busyTimeoutMs ?? 5000,
  };
  const provided = options.database;
  const driver = provided
    ? adoptDriver(provided, connection)
    : await openDriver(options.path ?? DEFAULT_PATH, options.driver, connection);
  try {
    return SqliteEngine.create(driver, { ownsDriver: !provided, now });
  } catch (error) {
    if (!provided) driver.close?.();
    throw error;
  }
}
