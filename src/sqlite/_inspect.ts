/**
 * What a queue checks before it touches a file: that it is SQLite, that it is a tasklite queue
 * (or empty), and that its pages are sound (`PRAGMA quick_check`, or `integrity_check`). It only
 * reads, and runs before the connection is configured (setting WAL rewrites the file's header),
 * so a refused file is left byte for byte as it was.
 *
 * @module
 */

import type { AdoptedDriver, IntegrityCheck } from "../drivers/driver.ts";
import { StorageError } from "../errors.ts";

/** How many problems an integrity check reports at most. */
const MAX_PROBLEMS = 10;

/** What to check. */
export interface InspectOptions {
  /** The integrity check to run. */
  check: IntegrityCheck;
  /**
   * Whether a database with tables of its own but no tasklite schema is refused: yes for a path
   * the queue opened, no for a caller's open database (which may hold the application's tables).
   */
  requireQueue: boolean;
}

/**
 * Checks the database before the queue configures and migrates it.
 *
 * @param driver The connection, not configured yet.
 * @param options What to check.
 * @throws {StorageError} Code `corrupt`: not a queue, or its integrity check failed. A driver's
 * error (such as `file is not a database`) is thrown as it is, for the caller to map.
 */
export function inspect(driver: AdoptedDriver, options: InspectOptions): void {
  const tables = driver.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all([])
    .map((row) => row.name as string);
  if (tables.length === 0) return; // a new (or 0-byte) file: SQLite's empty database
  if (options.requireQueue && !tables.includes("tasklite_migrations")) {
    throw new StorageError(
      "corrupt",
      `the file is a SQLite database but not a tasklite queue (tables ${
        tables.slice(0, 5).join(", ")
      }, no tasklite_migrations); nothing was changed`,
      { action: "open the queue" },
    );
  }
  if (options.check === "off" || driver.name === "durable-object") return;
  const pragma = options.check === "full" ? "integrity_check" : "quick_check";
  const problems = driver.prepare(`PRAGMA ${pragma}(${MAX_PROBLEMS})`).all([])
    .map((row) => String(Object.values(row)[0]));
  if (problems.length === 1 && problems[0] === "ok") return;
  throw new StorageError("corrupt", `PRAGMA ${pragma} failed: ${problems.join("; ")}`, {
    action: "open the queue",
  });
}
