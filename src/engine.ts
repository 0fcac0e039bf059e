/**
 * The storage contract every engine implements: SQLite today (a file, or a Durable Object's
 * storage), PostgreSQL next, each checked by the same conformance suite (`tests/conformance/`).
 *
 * Engines store and move tasks; they decide nothing. Policy lives in the core (`src/core/`): the
 * retry decision reaches an engine as data (a failed attempt's `retryAt`, or `null`; for an expired
 * lease, the {@linkcode RecoveryDecision} the engine calls under its lock), the claim plan
 * for pauses and limits is computed by `planClaim` from counts the engine reads under its own
 * write lock, and schedules arrive as firings (a slot, its next slot, and the task to enqueue).
 *
 * Transitions are batch-first: {@linkcode Engine.apply} runs a list of them in one transaction and
 * returns one {@linkcode Outcome} per item, each fenced by its own lease, so that a stale item
 * fails alone and the others commit. Every method is async so that networked engines fit.
 *
 * @module
 */

import type { JsonValue, QueueStats, RetryPolicy, Task, TaskPriority, TaskStatus } from "./task.ts";
import type { Notifier } from "./notifier.ts";
import type { Bucket, BucketTotal } from "./core/buckets.ts";
import type { TaskFilter } from "./task_query.ts";

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
  /** Concurrency key (per-key limits, fair claims), or `null`. */
  concurrencyKey: string | null;
}

/** What enqueueing one task did. */
export interface EnqueueResult {
  /** The task's id. */
  id: number;
  /** `false` when a live task with the same `uniqueKey` was returned instead. */
  inserted: boolean;
}

/**
 * The core's decision for a task whose lease expired (its worker died, so no one is left to ask):
 * when it is due again, or `null` to end it `failed` (a cancel asked while it ran still ends it
 * `cancelled`). The engine calls it under its write lock for each expired lease it reads, then
 * applies the answer fenced by that lease; it is synchronous, pure and never throws.
 */
export type RecoveryDecision = (task: Task, now: number) => number | null;

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
  /** What follows each expired lease the claim puts back first. */
  recover: RecoveryDecision;
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
  /**
   * The task as this queue last returned it, when the caller passed that object: an engine may
   * take from it the fields no transition changes (payload, name, type, priority …) instead of
   * reading them again. Every field a transition can change comes from the committed row.
   */
  known?: Task;
}

/** The result of a transition. */
export type Outcome =
  | { ok: true; task: Task }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "lease_lost" | "state" | "conflict"; status: TaskStatus };

/**
 * One state transition of one task, as data. Lease-fenced kinds carry a {@linkcode LeaseRef}; a
 * failed attempt carries the core's retry decision (`retryAt`: when the task is due again, or
 * `null` to end it `failed`). Whatever the decision, a task asked to cancel while it ran ends
 * `cancelled` (cancel wins, checked again under the write lock). `promote` makes a pending task
 * that is due later due now.
 */
export type Transition =
  | { kind: "heartbeat"; ref: LeaseRef }
  | { kind: "progress"; ref: LeaseRef; progress: JsonValue }
  | { kind: "complete"; ref: LeaseRef; result: JsonValue }
  | { kind: "fail"; ref: LeaseRef; error: string; retryAt: number | null }
  | { kind: "release"; ref: LeaseRef }
  | { kind: "cancel"; id: number }
  | { kind: "retry"; id: number }
  | { kind: "promote"; id: number };

/** The kind of a {@linkcode Transition}. */
export type TransitionKind = Transition["kind"];

/** Limits on one task type, shared by every process on the queue. */
export interface TypeLimits {
  /** At most this many running at once, or `null`. */
  concurrency: number | null;
  /** At most `max` claims per `intervalMs`, or `null`. */
  rate: { max: number; intervalMs: number } | null;
  /** At most this many running at once per concurrency key, or `null`. */
  concurrencyPerKey: number | null;
  /** At most `max` claims per `intervalMs` per concurrency key, or `null`. */
  ratePerKey: { max: number; intervalMs: number } | null;
}

/** A task type's pause flag and limits (`taskType` `"*"` is the whole queue). */
export interface TypeControl extends TypeLimits {
  /** The task type, or `"*"`. */
  taskType: string;
  /** When it was paused, or `null` when it is not. */
  pausedAt: number | null;
}

/**
 * What one concurrency key of a task type holds now, counted from the rows under the engine's
 * lock (no side counter): its running tasks, and its claims inside the type's per-key rate window.
 */
export interface KeyUsage {
  /** Running tasks of the type with this key. */
  running: number;
  /** The ids of the newest of those running tasks (at most 10), newest first. */
  heldBy: number[];
  /** Claims of the type with this key inside `ratePerKey.intervalMs` (0 without a per-key rate). */
  claimed: number;
  /**
   * The earliest of those claims (the key's rate window frees a claim at this time plus
   * `ratePerKey.intervalMs`), or `null` when there is none.
   */
  oldestClaimAt: number | null;
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

/** A schedule slot to fire: the core's decision, fenced by the slot it was computed from. */
export interface Firing {
  /** The schedule's name. */
  name: string;
  /** The slot, epoch ms: the schedule's `nextRunAt` when it was read. */
  slot: number;
  /** The slot after it (`null` when the pattern has no future slot). */
  nextRunAt: number | null;
  /** The task the slot enqueues. */
  task: NewTask;
}

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

/** A worker as the registry stores it (`workers` table): who it is and when it last beat. */
export interface WorkerRecord {
  /** Its id: the `workerId` it records on the tasks it claims. */
  id: string;
  /** The host it runs on (`""` when unknown). */
  host: string;
  /** Its process id, or `null` when unknown (a browser, a Durable Object). */
  pid: number | null;
  /** The runtime and its version, such as `deno 2.5.0`. */
  runtime: string;
  /** The task types it claims, or `null` for every type. */
  taskTypes: string[] | null;
  /** How many handlers it runs at once. */
  concurrency: number;
  /** When it started, epoch ms. */
  startedAt: number;
  /** Its last heartbeat, epoch ms. */
  heartbeatAt: number;
  /** How often it beats, in ms: it is dead after a few beats missed. */
  beatIntervalMs: number;
}

/** The claims of a rate-limited task type still inside its window. */
export interface RateWindow {
  /** The task type. */
  taskType: string;
  /** Its window, in ms. */
  intervalMs: number;
  /** When each claim inside the window was made, oldest first. */
  claimedAt: number[];
}

/**
 * One write of a {@linkcode Engine.batch}: what {@linkcode Engine.enqueue},
 * {@linkcode Engine.apply} or {@linkcode Engine.dequeue} would do alone.
 */
export type BatchOp =
  | { readonly kind: "enqueue"; readonly tasks: readonly NewTask[]; readonly now: number }
  | { readonly kind: "apply"; readonly transitions: readonly Transition[]; readonly now: number }
  | { readonly kind: "dequeue"; readonly request: ClaimRequest };

/** What a {@linkcode BatchOp} returns, by kind. */
export type BatchResult<O extends BatchOp> = O extends { kind: "enqueue" } ? EnqueueResult[]
  : O extends { kind: "apply" } ? Outcome[]
  : ClaimResult;

/** The behaviour every storage engine implements. */
export interface Engine {
  /** The engine and its binding, for diagnostics: `sqlite (node:sqlite)`, `postgres` … */
  readonly name: string;
  /**
   * Stores tasks in one transaction; returns their ids, `inserted: false` where a live task
   * already held the `uniqueKey` (its id is returned).
   */
  enqueue(tasks: readonly NewTask[], now: number): Promise<EnqueueResult[]>;
  /**
   * Stores tasks inside a caller's open transaction (one of the engine's own kind, such as a
   * postgres.js `sql.begin` client), so that they commit or roll back with it; the engine wakes
   * other processes only if it commits. Absent: the engine cannot.
   */
  enqueueWithin?(
    transaction: unknown,
    tasks: readonly NewTask[],
    now: number,
  ): Promise<EnqueueResult[]>;
  /**
   * Resolves once the caller's transaction that {@linkcode Engine.enqueueWithin} stored these
   * tasks in has ended, with the ids of those it committed (none after a rollback), so that the
   * queue announces them only then (SQLite, where the queue cannot see the commit). Absent: the
   * engine wakes other processes at commit itself (PostgreSQL's `NOTIFY`) and the queue announces
   * nothing.
   */
  whenCommitted?(
    stored: readonly { readonly id: number; readonly task: NewTask }[],
    now: number,
  ): Promise<number[]>;
  /**
   * The engine's own {@linkcode Notifier}, which reaches the other processes on its storage (the
   * queue's default when given); the engine closes it.
   */
  readonly notifier?: Notifier;
  /**
   * Puts expired leases back, then claims due tasks in claim order, honouring pauses and limits
   * (the core's `planClaim`), in one transaction and a constant number of statements.
   */
  dequeue(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Applies transitions in one transaction, each fenced on its own: one outcome per item, in
   * order; an item that does not apply changes nothing and the others still commit.
   */
  apply(transitions: readonly Transition[], now: number): Promise<Outcome[]>;
  /**
   * Runs writes in order in ONE transaction (group commit): one result per op, each what the op
   * would have returned alone. If it throws, nothing of it was committed.
   */
  batch(ops: readonly BatchOp[]): Promise<BatchResult<BatchOp>[]>;
  /** Of these running tasks, the ones asked to cancel. */
  cancelRequested(ids: readonly number[]): Promise<number[]>;
  /** Ids of failed tasks, of one type or all, oldest first. */
  failedIds(taskType: string | null, limit: number): Promise<number[]>;
  /**
   * Puts running tasks whose lease expired back, each as `decide` says (fenced by its lease, in one
   * transaction); returns them.
   */
  recover(now: number, decide: RecoveryDecision): Promise<Task[]>;
  /** Deletes finished tasks with these statuses that finished at or before `before`; returns how many. */
  prune(before: number, statuses: readonly TaskStatus[], limit: number): Promise<number>;
  /**
   * The per-minute history from `since` (epoch ms) on, oldest first: the attempts transitions
   * ended (each transaction adds its tally, `src/core/buckets.ts`, in one upsert) and the backlog
   * samples.
   */
  buckets(since: number): Promise<Bucket[]>;
  /** Finished attempts per task type and outcome, over all time (pruned buckets rolled up). */
  bucketTotals(): Promise<BucketTotal[]>;
  /**
   * Stores a backlog sample for `minute` (the rows of the core's `backlogRows`), unless one was
   * taken for that minute already, by this process or another.
   */
  sampleBacklog(minute: number, counts: readonly LiveCount[]): Promise<void>;
  /**
   * Adds the finished-attempt counts of buckets older than `before` to the all-time roll-up, then
   * deletes those buckets, in one transaction; returns how many it deleted.
   */
  pruneBuckets(before: number): Promise<number>;
  /** One task, or `null`. */
  get(id: number): Promise<Task | null>;
  /** Counts per status. */
  stats(): Promise<QueueStats>;
  /** Pending and running counts per task type. */
  liveCounts(): Promise<LiveCount[]>;
  /**
   * Tasks with a status: pending ones in the claim's order (the next to run first), running ones
   * newest first, finished ones most recently finished first, unless `filter.sort` says otherwise
   * (scheduled pending tasks: soonest due first); `filter` keeps those that match
   * (its `search`: the id, or text in the name, type, concurrency key or payload).
   */
  list(status: TaskStatus, limit: number, offset: number, filter: TaskFilter): Promise<Task[]>;
  /** Every pause flag and limit. */
  controls(): Promise<TypeControl[]>;
  /** Pauses (`pausedAt` set) or resumes (`null`) a task type, or `"*"`. */
  setPaused(taskType: string, pausedAt: number | null): Promise<void>;
  /** Sets or clears a task type's limits. */
  setLimits(taskType: string, limits: TypeLimits): Promise<void>;
  /**
   * What a concurrency key of a task type holds now (running tasks, claims in its per-key rate
   * window), as the claim counts it: with the type's control, `keyRoom` says whether the key is
   * at its limit.
   */
  keyUsage(taskType: string, concurrencyKey: string, now: number): Promise<KeyUsage>;
  /** Creates or replaces a schedule (a re-declared one keeps its pending slot). */
  upsertSchedule(schedule: NewSchedule, now: number): Promise<Schedule>;
  /** Removes a schedule; `false` if there was none. */
  deleteSchedule(name: string): Promise<boolean>;
  /** Every schedule. */
  schedules(): Promise<Schedule[]>;
  /** Unpaused schedules whose next slot is at or before `now`, earliest first (a read). */
  dueSchedules(now: number): Promise<Schedule[]>;
  /**
   * Fires slots in one transaction: each moves its schedule past `slot` and enqueues its task,
   * only if the schedule is still at that slot, so that each slot fires once however many
   * processes race. Returns the slots that fired.
   */
  fireSchedules(firings: readonly Firing[], now: number): Promise<FiredSlot[]>;
  /**
   * The earliest time something is due: a pending task's `scheduledAt`, a running task's lease
   * expiry or a schedule's next slot (`null` when nothing is). For alarm-driven workers.
   */
  nextWakeAt(): Promise<number | null>;
  /**
   * The newest time a writer recorded (a task created, a lease taken or extended, a task
   * finished), or `null` for empty storage: the queue compares its clock with it at open.
   */
  latestWriteAt(): Promise<number | null>;
  /** Records a worker, or its heartbeat (the same row, replaced). */
  upsertWorker(worker: WorkerRecord): Promise<void>;
  /** Removes a worker (it stopped); `false` if it was not there. */
  removeWorker(id: string): Promise<boolean>;
  /** Every registered worker, by id. */
  workers(): Promise<WorkerRecord[]>;
  /**
   * Ends now the leases of the running tasks these (dead) workers hold, so that the next recovery
   * puts them back as it does any expired lease; removes registrations whose last beat is at or
   * before `forgetBefore`. Returns how many leases it ended.
   */
  expireWorkers(ids: readonly string[], now: number, forgetBefore: number): Promise<number>;
  /** Ids of running tasks of a type, up to `limit`, newest claim first. */
  runningIds(taskType: string, limit: number): Promise<number[]>;
  /** The claims still inside each rate-limited type's window at `now`. */
  rateWindows(now: number): Promise<RateWindow[]>;
  /** Releases the engine's resources. */
  close(): Promise<void>;
}
