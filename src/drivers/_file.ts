/**
 * What the file bindings (`node:sqlite`, `bun:sqlite`) share: the connection PRAGMAs, a
 * `BEGIN IMMEDIATE` transaction, and a close that refreshes planner statistics first.
 *
 * @module
 */

import type { ConnectionOptions } from "./driver.ts";

/** The part of a file binding's handle these helpers use. */
export interface Exec {
  exec(sql: string): void;
}

/** WAL, the busy timeout and `synchronous`, set on every connection the queue uses. */
export function configure(db: Exec, options: ConnectionOptions): void {
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${options.synchronous}`);
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front. */
export function immediate<T>(db: Exec, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** Refreshes planner statistics when cheap (best effort), then closes. */
export function closeFile(db: Exec & { close(): void }): void {
  try {
    db.exec("PRAGMA optimize");
  } catch {
    // best effort: another connection may hold the write lock; the close must not fail
  }
  db.close();
}
