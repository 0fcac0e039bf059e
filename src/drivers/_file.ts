/**
 * What the file bindings (`node:sqlite`, `bun:sqlite`) share: the connection PRAGMAs, a
 * `BEGIN IMMEDIATE` transaction whose failure is never hidden by its ROLLBACK, and a close that
 * refreshes planner statistics and checkpoints the WAL first.
 *
 * @module
 */

import type { ConnectionOptions } from "./driver.ts";

/** The part of a file binding's handle these helpers use. */
export interface Exec {
  exec(sql: string): void;
  /** `node:sqlite`: whether a transaction is open. */
  readonly isTransaction?: boolean;
  /** `bun:sqlite`: whether a transaction is open. */
  readonly inTransaction?: boolean;
}

/**
 * WAL, the busy timeout and `synchronous`, set on every connection the queue uses. The busy
 * timeout is the short synchronous wait of one attempt (the engine retries asynchronously after
 * it, so that a locked database does not freeze the event loop). A read-only connection leaves
 * the journal mode as the file has it (setting it writes the file's header).
 */
export function configure(db: Exec, options: ConnectionOptions, readOnly = false): void {
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  if (!readOnly) db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${options.synchronous}`);
}

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front. When it fails,
 * the error that failed it is thrown: SQLite has already rolled back after some errors (such as
 * SQLITE_FULL), so the ROLLBACK runs only while a transaction is open, and its own failure never
 * replaces the original error.
 */
export function immediate<T>(db: Exec, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction ?? db.inTransaction ?? true) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // the original error is the one worth reporting; SQLite rolled back already
      }
    }
    throw error;
  }
}

/**
 * Refreshes planner statistics and checkpoints the WAL into the file (best effort, both), then
 * closes. The last connection to close removes the `-wal` file.
 */
export function closeFile(db: Exec & { close(): void }): void {
  for (const pragma of ["PRAGMA optimize", "PRAGMA wal_checkpoint(TRUNCATE)"]) {
    try {
      db.exec(pragma);
    } catch {
      // best effort: another connection may hold the lock; the close must not fail
    }
  }
  db.close();
}
