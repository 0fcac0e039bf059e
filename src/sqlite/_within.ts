/**
 * Enqueueing inside the application's own transaction on the queue's connection (SQLite): which
 * transactions are accepted (`true`, or a drizzle transaction over that connection), the inserts in
 * a SAVEPOINT of it (a failed enqueue leaves the application's transaction as it was), and, once
 * that transaction has ended, which of the tasks it committed, so that the queue wakes workers and
 * emits `enqueued` for those only (nothing after a rollback).
 *
 * The inserts run synchronously, not through the storage gate (which holds the queue's own calls
 * until the application's transaction ends): the rows are written before `enqueue` returns its
 * promise, so that a synchronous transaction callback (bun's `db.transaction`, drizzle's bun-sqlite
 * transactions, a Durable Object's `transactionSync`) can enqueue in it too. A lock the insert
 * cannot get within SQLite's short busy timeout fails it (`StorageError` `busy`): retrying inside a
 * deferred transaction cannot help, so `BEGIN IMMEDIATE` is the application's way to take it first.
 *
 * SQLite cannot tell a commit from a rollback after the fact, so the end is seen by polling the
 * driver's `inTransaction` on timers (1 ms doubling to 50 ms, unref'd), and the commit by reading
 * the rows back: a task counts as committed when its row is there with the id, type, name and
 * enqueue time it was stored with (an id that a rollback freed may be taken again). A driver
 * without `inTransaction` (a Durable Object, whose `transactionSync` callback is synchronous) is
 * read on the next macrotask, when any synchronous transaction has ended.
 *
 * @module
 */

import type { AdoptedDriver, SqliteStatement } from "../drivers/driver.ts";
import type { NewTask } from "../engine.ts";
import { ValidationError } from "../errors.ts";

/** A task stored inside the application's transaction. */
export interface StoredWithin {
  /** Its id. */
  readonly id: number;
  /** What was stored. */
  readonly task: NewTask;
}

/** The read that tells whether a task stored inside a transaction is there now. */
export const COMMITTED_SQL =
  "SELECT id FROM tasks WHERE id = ? AND task_type = ? AND name = ? AND created_at = ?";

/**
 * Checks the transaction given to an enqueue: `true` or a drizzle SQLite transaction, and (when
 * the driver can tell) one must be open on the connection. Throws a `ValidationError` otherwise.
 */
export function checkTransaction(transaction: unknown, driver: AdoptedDriver, engine: string) {
  if (typeof transaction === "function") {
    throw new ValidationError(
      `Invalid enqueue options: transaction: a postgres.js transaction is not supported on ${engine}: pass true (or a drizzle transaction) inside a transaction on the queue's connection`,
    );
  }
  if (driver.inTransaction && !driver.inTransaction()) {
    throw new ValidationError(
      `Invalid enqueue options: transaction: no transaction is open on the queue's connection (${engine})`,
    );
  }
}

/**
 * Runs `fn` in a SAVEPOINT of the open transaction: released when it returns, rolled back to (and
 * released) when it throws. A Durable Object nests `transactionSync` instead (its `sql.exec`
 * refuses `SAVEPOINT`).
 */
export function savepoint<T>(driver: AdoptedDriver, fn: () => T): T {
  if (driver.name === "durable-object") return driver.transaction(fn);
  driver.exec("SAVEPOINT tasklite_enqueue");
  try {
    const result = fn();
    driver.exec("RELEASE tasklite_enqueue");
    return result;
  } catch (error) {
    try {
      driver.exec("ROLLBACK TO tasklite_enqueue");
      driver.exec("RELEASE tasklite_enqueue");
    } catch {
      // SQLite rolled the whole transaction back already (some errors do): nothing to undo
    }
    throw error;
  }
}

const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 50;

/** A timer that does not keep the process alive. */
function unrefTimer(fn: () => void, ms: number): void {
  const timer: unknown = setTimeout(fn, ms);
  const deno = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno;
  if (typeof timer === "number") deno?.unrefTimer?.(timer);
  else (timer as { unref?(): void }).unref?.();
}

/**
 * Resolves once no transaction is open on the connection (see the module documentation), or
 * with `false` once `stopped()` says the queue closed; rejects if the binding fails (a database
 * closed under the queue).
 */
export function whenEnded(driver: AdoptedDriver, stopped: () => boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let pause = FIRST_POLL_MS;
    const poll = () => {
      if (stopped()) return resolve(false);
      let open: boolean | undefined;
      try {
        open = driver.inTransaction?.();
      } catch (error) {
        return reject(error);
      }
      if (!open) return resolve(true);
      unrefTimer(poll, pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    };
    unrefTimer(poll, 0);
  });
}

/** Of the tasks stored inside a transaction that has ended, the ids of those it committed. */
export function committedIds(
  statement: SqliteStatement,
  stored: readonly StoredWithin[],
  now: number,
): number[] {
  return stored
    .filter(({ id, task }) => statement.get([id, task.taskType, task.name, now]) !== undefined)
    .map(({ id }) => id);
}
