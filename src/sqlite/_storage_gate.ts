/**
 * Where every call of the SQLite engine leaves it: a throw becomes a rejection, a binding's error
 * a {@linkcode StorageError} (mapped once, in `toStorageError`), and a locked database a wait that
 * does not freeze the event loop.
 *
 * SQLite's busy handler waits synchronously, blocking the whole process (timers, heartbeats,
 * HTTP); a 5 s wait there could let every lease of a live worker expire. So each attempt waits at
 * most {@linkcode SYNC_BUSY_MS} in SQLite (the connection's `busy_timeout`), and the gate retries
 * with backoff on timers until the queue's `busyTimeoutMs` is spent, then rejects with
 * `StorageError` code `busy`. A failed attempt wrote nothing (its transaction rolled back), so
 * running it again is safe. While a call waits, later calls wait behind it, in order, so the
 * engine still sees calls in the order they were made.
 *
 * On a connection the application shares, a call that finds the application's own transaction
 * open (the driver's `inTransaction`) waits the same way until it ends: run now, it would either
 * fail (`cannot start a transaction within a transaction`) or, as a lone statement, join the
 * application's transaction and roll back with it. Only an enqueue given that transaction
 * (`enqueueWithin`) writes into it, and it does not come through the gate.
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import { toStorageError } from "../drivers/_storage_error.ts";

/** The longest one attempt waits for a lock inside SQLite (blocking), in ms. */
export const SYNC_BUSY_MS = 50;

/** The first pause between attempts, in ms; it doubles up to {@linkcode MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 100;

function isBusy(error: unknown): error is StorageError {
  return error instanceof StorageError && error.code === "busy";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs an engine's synchronous calls: see the module documentation. */
export class StorageGate {
  readonly #budgetMs: number;
  readonly #blocked: () => boolean;
  /** Calls waiting behind a busy one (0: the fast path, no promise chain). */
  #backlog = 0;
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * @param budgetMs How long a call may wait for the lock in all (the queue's `busyTimeoutMs`).
   * @param blocked Whether another transaction is open on the connection now (an application's).
   */
  constructor(budgetMs: number, blocked: () => boolean = () => false) {
    this.#budgetMs = budgetMs;
    this.#blocked = blocked;
  }

  /**
   * Runs `fn` now (or behind the calls waiting for the lock) and settles with its result.
   *
   * @param fn One synchronous engine call: a statement or a whole transaction.
   * @returns Its result; a storage condition as a `StorageError`.
   */
  run<T>(fn: () => T): Promise<T> {
    if (this.#backlog === 0 && !this.#blocked()) {
      try {
        return Promise.resolve(fn());
      } catch (error) {
        const mapped = toStorageError(error);
        if (!isBusy(mapped)) return Promise.reject(mapped);
        // The attempt waited up to SYNC_BUSY_MS already: counted (no clock read on the fast path).
        const startedAt = performance.now() - SYNC_BUSY_MS;
        return this.#behind(() => this.#retry(fn, mapped, startedAt));
      }
    }
    const startedAt = performance.now();
    return this.#behind(() => this.#retry(fn, null, startedAt));
  }

  /** Runs `task` after every call already waiting. */
  #behind<T>(task: () => Promise<T>): Promise<T> {
    this.#backlog++;
    const result = this.#tail.then(task);
    const done = () => void this.#backlog--;
    this.#tail = result.then(done, done);
    return result;
  }

  /** Attempts `fn` (after a pause, if `busy` is the last attempt's error) until the budget ends. */
  async #retry<T>(fn: () => T, busy: StorageError | null, startedAt: number): Promise<T> {
    let pause = FIRST_PAUSE_MS;
    for (;;) {
      const blocked = this.#blocked();
      if (busy !== null || blocked) {
        const waited = performance.now() - startedAt;
        if (waited >= this.#budgetMs) {
          const why = blocked
            ? "the application's transaction on the queue's connection is still open"
            : (busy!.cause as Error).message;
          throw new StorageError("busy", `${why} (waited ${Math.round(waited)} ms)`, {
            cause: blocked ? undefined : busy!.cause,
          });
        }
        await sleep(Math.min(pause, this.#budgetMs - waited));
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
        if (this.#blocked()) continue;
      }
      try {
        return fn();
      } catch (error) {
        const mapped = toStorageError(error);
        if (!isBusy(mapped)) throw mapped;
        busy = mapped;
      }
    }
  }
}
