/**
 * The storage boundary. The queue's rules (validation, retry policy, errors) live in
 * {@linkcode TaskQueue}; an engine stores tasks and performs each state transition atomically.
 * SQLite is the engine shipped today; PostgreSQL will be a second implementation of the same
 * interface, checked by the same conformance tests.
 *
 * Every method is async so that networked engines fit; each one is a single transaction.
 *
 * @module
 */

import type { JsonValue, QueueStats, Task, TaskPriority, TaskStatus } from "./task.ts";

/** A validated task, ready to be stored. */
export interface NewTask {
  /** Human-readable name. */
  name: string;
  /** Handler selector. */
  taskType: string;
  /** JSON input. */
  payload: JsonValue;
  /** Priority. */
  priority: TaskPriority;
  /** Due time, epoch ms. */
  scheduledAt: number;
  /** Retries after the first failure. */
  maxRetries: number;
  /** Idempotency key, or `null`. */
  uniqueKey: string | null;
}

/** What a claim asks for. */
export interface ClaimRequest {
  /** The engine's idea of now, epoch ms. */
  now: number;
  /** At most this many tasks. */
  limit: number;
  /** Lease duration. */
  leaseMs: number;
  /** Recorded as the lease holder. */
  workerId: string | null;
  /** Only these task types, or any when `null`. */
  taskTypes: readonly string[] | null;
}

/** A task reference for a transition: with `attempts` it is fenced by that lease. */
export interface LeaseRef {
  /** The task id. */
  id: number;
  /** The lease's fencing token ({@linkcode Task.attempts}), or `null` to act on the id alone. */
  attempts: number | null;
}

/** The result of a transition. */
export type Outcome =
  | { ok: true; task: Task }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "lease_lost" | "state" | "conflict"; status: TaskStatus };

/**
 * Decides the delay before the next attempt of a failed task, given how many attempts have
 * failed so far (1 after the first failure). `null` means do not retry.
 */
export type RetryDelay = (retryCount: number) => number | null;

/** The behaviour every storage engine implements. */
export interface Engine {
  /** Stores tasks in one transaction; returns their ids (an existing id for a live `uniqueKey`). */
  enqueue(tasks: readonly NewTask[], now: number): Promise<number[]>;
  /** Puts expired leases back (or to `failed`), then claims due tasks, in one transaction. */
  dequeue(request: ClaimRequest): Promise<Task[]>;
  /** Extends a running task's lease by the duration it was claimed with. */
  heartbeat(ref: LeaseRef, now: number): Promise<Outcome>;
  /** Marks a running task `completed` with its result. */
  complete(ref: LeaseRef, result: JsonValue, now: number): Promise<Outcome>;
  /** Records a failed attempt: back to `pending` after a delay, or `failed` when spent. */
  fail(ref: LeaseRef, error: string, now: number, retryDelay: RetryDelay): Promise<Outcome>;
  /** Marks a pending task `cancelled`. */
  cancel(id: number, now: number): Promise<Outcome>;
  /** Redrives a `failed` or `cancelled` task to `pending` with its retries reset. */
  retry(id: number, now: number): Promise<Outcome>;
  /** Puts running tasks whose lease expired back to `pending` (or `failed`); returns how many. */
  recover(now: number): Promise<number>;
  /** One task, or `null`. */
  get(id: number): Promise<Task | null>;
  /** Counts per status. */
  stats(): Promise<QueueStats>;
  /** Tasks with a status, newest first. */
  list(status: TaskStatus, limit: number, offset: number): Promise<Task[]>;
  /** Releases the engine's resources. */
  close(): Promise<void>;
}
