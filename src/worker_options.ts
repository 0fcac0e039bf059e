/**
 * What a {@linkcode Worker} is made of: the queue it claims from ({@linkcode WorkerQueue}), its
 * handlers ({@linkcode TaskHandler}, {@linkcode HandlerDefinition}) and what they receive
 * ({@linkcode TaskContext}), its tuning ({@linkcode WorkerOptions}, {@linkcode StopOptions}), and
 * why a handler's signal aborts ({@linkcode TaskAbortedError}).
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { FailOptions, RetryStrategy } from "./core/retry.ts";
import type { Logger } from "./logger.ts";
import type { Notifier } from "./notifier.ts";
import type { DequeueOptions, WorkerRegistration } from "./queue.ts";
import type { Task } from "./task.ts";

/**
 * What a {@linkcode Worker} needs of a queue: the claim-side verbs, and optionally the clock its
 * timers run on and the notifier that wakes it. {@linkcode TaskQueue} implements it in process;
 * `HttpQueueClient` implements it over HTTP for remote workers.
 *
 * @example A queue that counts claims
 * ```ts
 * import { TaskQueue, Worker, type WorkerQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * let claims = 0;
 * const counting: WorkerQueue = {
 *   logger: queue.logger,
 *   clock: queue.clock,
 *   notifier: queue.notifier,
 *   dequeueMany: (limit, options) => {
 *     claims++;
 *     return queue.dequeueMany(limit, options);
 *   },
 *   heartbeat: (task) => queue.heartbeat(task),
 *   progress: (task, value) => queue.progress(task, value),
 *   completeTask: (task, result) => queue.completeTask(task, result),
 *   failTask: (task, error, options) => queue.failTask(task, error, options),
 *   release: (task) => queue.release(task),
 *   cancelRequested: (ids) => queue.cancelRequested(ids),
 *   maintain: () => queue.maintain(),
 * };
 * await queue.enqueue({ name: "n", taskType: "t" });
 * console.log(await new Worker(counting, { handlers: { t: () => 1 } }).tick()); // 1
 * console.log(claims > 0); // true
 * await queue.close();
 * ```
 */
export interface WorkerQueue {
  /** Where the worker logs. */
  readonly logger: Logger;
  /**
   * The clock of the worker's timers (poll interval, heartbeats, timeouts, stop grace).
   *
   * @default {systemClock}
   */
  readonly clock?: Clock;
  /** Wakes an idle worker when tasks of its types may be ready (without it, it polls). */
  readonly notifier?: Notifier;
  /**
   * Claims up to `limit` due tasks. `control.signal` aborts a claim in flight (the worker is
   * stopping); `control.wait: false` asks a remote queue not to long-poll (a `tick()`).
   */
  dequeueMany(
    limit: number,
    options?: DequeueOptions,
    control?: { signal?: AbortSignal; wait?: boolean },
  ): Promise<Task[]>;
  /** Extends a lease. */
  heartbeat(task: Task): Promise<Task>;
  /** Records progress. */
  progress(task: Task, progress: unknown): Promise<Task>;
  /** Completes a task. */
  completeTask(task: Task, result?: unknown): Promise<Task>;
  /** Fails an attempt. */
  failTask(task: Task, error: string | Error, options?: FailOptions): Promise<Task>;
  /** Gives a claim back. */
  release(task: Task): Promise<Task>;
  /** Of these running tasks, the ones asked to cancel. */
  cancelRequested(ids: readonly number[]): Promise<number[]>;
  /** Periodic upkeep: due schedules, retention. */
  maintain(): Promise<unknown>;
  /**
   * Records the worker in the queue's worker registry, or its beat: a started worker calls it
   * once per poll interval. Absent: the worker does not register.
   */
  registerWorker?(registration: WorkerRegistration): Promise<unknown>;
  /** Removes the worker from the registry: it stopped. */
  deregisterWorker?(id: string): Promise<unknown>;
}

/** What a handler gets besides the payload. */
export interface TaskContext {
  /** The task as claimed. */
  readonly task: Task;
  /** The worker running it. */
  readonly workerId: string;
  /**
   * Aborts when the task times out, is cancelled, loses its lease or the worker shuts down; its
   * `reason` is a {@linkcode TaskAbortedError}. Pass it to `fetch` and friends.
   */
  readonly signal: AbortSignal;
  /** Extends the lease now (the worker also does it every third of the lease). */
  heartbeat(): Promise<void>;
  /** Records progress (a number or JSON data), visible in `getTask()` and as an event. */
  progress(value: unknown): Promise<void>;
}

/**
 * Runs one task type: gets the payload, returns the result (JSON) or throws to fail the attempt.
 * Throw {@linkcode RetryableError} to choose the delay, {@linkcode PermanentError} to skip retries.
 */
// deno-lint-ignore no-explicit-any
export type TaskHandler = (payload: any, context: TaskContext) => unknown;

/** A handler with per-type settings. */
export interface HandlerDefinition {
  /** The handler. */
  handler: TaskHandler;
  /** Run time limit for tasks of this type (a task's own `timeoutMs` wins). */
  timeoutMs?: number;
  /** Retry delays for tasks of this type (a task's own `retry` policy wins). */
  retry?: RetryStrategy;
}

/** Why a handler's signal aborted. */
export type AbortCause = "timeout" | "cancelled" | "lease_lost" | "shutdown";

/**
 * The `reason` of a handler's aborted `ctx.signal`.
 *
 * @example Usage
 * ```ts
 * import { TaskAbortedError } from "@tasklite/tasklite";
 *
 * const handler = async (_payload: unknown, ctx: { signal: AbortSignal }) => {
 *   ctx.signal.addEventListener("abort", () => {
 *     const reason = ctx.signal.reason as TaskAbortedError;
 *     console.log(reason.cause); // "timeout", "cancelled", "lease_lost" or "shutdown"
 *   });
 * };
 * ```
 */
export class TaskAbortedError extends Error {
  /** Why. */
  override readonly cause: AbortCause;
  /**
   * Creates the error.
   *
   * @param cause Why the run was aborted.
   * @param message The message.
   */
  constructor(cause: AbortCause, message: string) {
    super(message);
    this.name = "TaskAbortedError";
    this.cause = cause;
  }
}

/** How a worker runs. */
export interface WorkerOptions {
  /** The handler registry: task type → handler, or handler with per-type settings. */
  handlers: Readonly<Record<string, TaskHandler | HandlerDefinition>>;
  /**
   * How many tasks run at once in this worker.
   *
   * @default {1}
   */
  concurrency?: number;
  /**
   * How many tasks to claim beyond `concurrency`: they wait in the worker, their leases
   * heartbeated, and start the moment a slot frees (their time limit counts from then); `stop()`
   * gives back the ones that never started. For many short tasks: each claim and commit then
   * covers more of them. Keep it 0 when tasks are long and other workers could take them sooner.
   *
   * @default {0}
   */
  prefetch?: number;
  /**
   * How often to poll for due tasks when idle, and for cancellations while busy. An idle worker
   * whose queue has a notifier also wakes at once when a task of its types is enqueued, released
   * or redriven in the same process.
   *
   * @default {1000}
   */
  pollIntervalMs?: number;
  /**
   * The lease each claim takes.
   *
   * @default {the queue's leaseMs}
   */
  leaseMs?: number;
  /**
   * How often running tasks' leases are extended.
   *
   * @default {a third of the lease}
   */
  heartbeatIntervalMs?: number;
  /**
   * The time limit of a task whose own `timeoutMs` and handler's `timeoutMs` are unset, in ms: it
   * then fails like any timeout (`Task timed out after … ms`, retried by its policy), so that a
   * handler that never settles does not hold its task forever. `Infinity` sets no limit. A
   * handler that ignores its `ctx.signal` keeps its slot until it settles, since it still runs.
   *
   * @default {3_600_000 (one hour)}
   */
  maxRunMs?: number;
  /**
   * The name recorded on claimed tasks.
   *
   * @default {a random "worker-…" id}
   */
  workerId?: string;
  /**
   * Which task types to claim. `"*"` claims every type; a claimed task whose type has no handler
   * then fails for good with `No handler registered for task type "…"`.
   *
   * @default {the handlers' task types}
   */
  taskTypes?: readonly string[] | "*";
  /**
   * Whether each poll also runs {@linkcode TaskQueue.maintain} (due schedules, retention).
   *
   * @default {true}
   */
  maintenance?: boolean;
  /**
   * The clock of the worker's timers: poll interval, heartbeats, timeouts and stop grace.
   *
   * @default {the queue's clock, else systemClock}
   */
  clock?: Clock;
  /**
   * Called when a task this worker ran ends `failed` with no retries left. A task whose worker
   * died ends `failed` when its last lease expires, in whichever process claims next: subscribe
   * to the queue's `dead` event (`queue.on("dead", …)`) to see every dead letter.
   */
  onDeadLetter?: (task: Task) => void | Promise<void>;
  /**
   * Called with errors of the queue itself (not of handlers, which fail their task), such as a
   * lost lease or a closed queue.
   *
   * @default {the queue's logger, at error level}
   */
  onError?: (error: unknown, task: Task | null) => void;
}

/** Options of {@linkcode Worker.stop}. */
export interface StopOptions {
  /**
   * How long to wait for running tasks before aborting them and giving their leases back.
   *
   * @default {Infinity}
   */
  timeoutMs?: number;
}
