/**
 * The storage boundary. The queue's rules (validation, retry policy, errors, events) live in
 * {@linkcode TaskQueue}; an engine stores tasks and performs each state transition atomically.
 * SQLite is the engine shipped today; PostgreSQL will be a second implementation of the same
 * interface, checked by the same conformance tests.
 *
 * Every method is async so that networked engines fit; each one is a single transaction.
 *
 * @module
 */

import type { JsonValue, QueueStats, RetryPolicy, Task, TaskPriority, TaskStatus } from "./task.ts";

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
  /** Run time limit, or `null`. */
  timeoutMs: number | null;
  /** Retry policy, or `null` for the worker's or queue's. */
  retryPolicy: RetryPolicy | null;
}

/** What enqueueing one task did. */
export interface EnqueueResult {
  /** The task's id. */
  id: number;
  /** `false` when a live task with the same `uniqueKey` was returned instead. */
  inserted: boolean;
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

/** What a claim did: tasks it claimed, and tasks whose expired lease it put back first. */
export interface ClaimResult {
  /** Claimed, in claim order. */
  tasks: Task[];
  /** Recovered from an expired lease (now pending, failed or cancelled). */
  recovered: Task[];
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
 * failed so far (1 after the first failure) and the task. `null` means do not retry.
 */
export type RetryDelay = (retryCount: number, task: Task) => number | null;

/** Limits on one task type, shared by every process on the queue. */
export interface TypeLimits {
  /** At most this many running at once, or `null`. */
  concurrency: number | null;
  /** At most `max` claims per `intervalMs`, or `null`. */
  rate: { max: number; intervalMs: number } | null;
}

/** A task type's pause flag and limits (`taskType` `"*"` is the whole queue). */
export interface TypeControl extends TypeLimits {
  /** The task type, or `"*"`. */
  taskType: string;
  /** When it was paused, or `null` when it is not. */
  pausedAt: number | null;
}

/** A recurring schedule as stored. */
export interface Schedule {
  /** Unique name. */
  name: string;
  /** The cron pattern (5 fields, or 6 with seconds). */
  cron: string;
  /** IANA time zone the pattern is read in, or `null` for UTC. */
  timezone: string | null;
  /** The task each slot enqueues. */
  taskType: string;
  /** Its name. */
  taskName: string;
  /** Its payload. */
  payload: JsonValue;
  /** Its priority. */
  priority: TaskPriority;
  /** Its retries. */
  maxRetries: number;
  /** Its run time limit. */
  timeoutMs: number | null;
  /** The next slot, epoch ms (`null` when the pattern has no future slot). */
  nextRunAt: number | null;
  /** The last slot that fired. */
  lastRunAt: number | null;
  /** The task the last slot enqueued. */
  lastTaskId: number | null;
  /** Paused schedules do not fire. */
  paused: boolean;
  /** Created, epoch ms. */
  createdAt: number;
  /** Last changed, epoch ms. */
  updatedAt: number;
}

/** A schedule to store. */
export type NewSchedule = Omit<Schedule, "lastRunAt" | "lastTaskId" | "createdAt" | "updatedAt">;

/** A slot that fired: the schedule and the task it enqueued. */
export interface FiredSlot {
  /** The schedule's name. */
  name: string;
  /** The slot, epoch ms. */
  slot: number;
  /** The enqueued task. */
  taskId: number;
  /** Its name. */
  taskName: string;
  /** Its task type. */
  taskType: string;
  /** Its priority. */
  priority: TaskPriority;
}

/** Live tasks of one type in one status. */
export interface LiveCount {
  /** The task type. */
  taskType: string;
  /** `pending` or `running`. */
  status: TaskStatus;
  /** How many. */
  count: number;
}

/** The behaviour every storage engine implements. */
export interface Engine {
  /**
   * Stores tasks in one transaction; returns their ids, `inserted: false` where a live task
   * already held the `uniqueKey` (its id is returned).
   */
  enqueue(tasks: readonly NewTask[], now: number): Promise<EnqueueResult[]>;
  /**
   * Puts expired leases back, then claims due tasks, honouring pauses and limits, in one
   * transaction.
   */
  dequeue(request: ClaimRequest): Promise<ClaimResult>;
  /** Extends a running task's lease by the duration it was claimed with. */
  heartbeat(ref: LeaseRef, now: number): Promise<Outcome>;
  /** Records a running task's progress. */
  progress(ref: LeaseRef, progress: JsonValue, now: number): Promise<Outcome>;
  /** Marks a running task `completed` with its result. */
  complete(ref: LeaseRef, result: JsonValue, now: number): Promise<Outcome>;
  /**
   * Records a failed attempt: back to `pending` after a delay, `failed` when spent, or
   * `cancelled` when a cancel was asked while it ran.
   */
  fail(ref: LeaseRef, error: string, now: number, retryDelay: RetryDelay): Promise<Outcome>;
  /** Gives a claimed task back: `pending`, due now, no attempt counted. */
  release(ref: LeaseRef, now: number): Promise<Outcome>;
  /** Cancels a pending task, or asks the worker of a running one to stop. */
  cancel(id: number, now: number): Promise<Outcome>;
  /** Of these running tasks, the ones asked to cancel. */
  cancelRequested(ids: readonly number[]): Promise<number[]>;
  /** Redrives a `failed` or `cancelled` task to `pending` with its retries reset. */
  retry(id: number, now: number): Promise<Outcome>;
  /** Ids of failed tasks, of one type or all, oldest first. */
  failedIds(taskType: string | null, limit: number): Promise<number[]>;
  /** Puts running tasks whose lease expired back; returns them. */
  recover(now: number): Promise<Task[]>;
  /** Deletes finished tasks with these statuses that finished at or before `before`; returns how many. */
  prune(before: number, statuses: readonly TaskStatus[], limit: number): Promise<number>;
  /** One task, or `null`. */
  get(id: number): Promise<Task | null>;
  /** Counts per status. */
  stats(): Promise<QueueStats>;
  /** Pending and running counts per task type. */
  liveCounts(): Promise<LiveCount[]>;
  /** Tasks with a status, newest first; `search` keeps those whose name or type contains it. */
  list(status: TaskStatus, limit: number, offset: number, search: string | null): Promise<Task[]>;
  /** Every pause flag and limit. */
  controls(): Promise<TypeControl[]>;
  /** Pauses (`pausedAt` set) or resumes (`null`) a task type, or `"*"`. */
  setPaused(taskType: string, pausedAt: number | null): Promise<void>;
  /** Sets or clears a task type's limits. */
  setLimits(taskType: string, limits: TypeLimits): Promise<void>;
  /** Creates or replaces a schedule. */
  upsertSchedule(schedule: NewSchedule, now: number): Promise<Schedule>;
  /** Removes a schedule; `false` if there was none. */
  deleteSchedule(name: string): Promise<boolean>;
  /** Every schedule. */
  schedules(): Promise<Schedule[]>;
  /**
   * Enqueues one task for each due schedule and moves it to its next slot (`next`), in one
   * transaction, so that each slot fires once however many processes call it.
   */
  fireSchedules(now: number, next: (schedule: Schedule) => number | null): Promise<FiredSlot[]>;
  /** Releases the engine's resources. */
  close(): Promise<void>;
}
