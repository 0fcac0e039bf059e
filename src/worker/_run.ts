/**
 * Running one claimed task: its abort switch, the handler raced against the abort (the outcome of
 * a handler that ignores its signal is not awaited, but its slot stays taken until it settles),
 * and the one transition that ends the run: `completeTask`, `failTask` (with the retry choice of
 * {@linkcode failOptionsFor}) or `release`, retried while the lease holds when the storage fails
 * for a passing reason. Its heartbeats and its timeout are the worker's timer loop's
 * (`_timers.ts`).
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { type FailOptions, failOptionsFor, type RetryStrategy } from "../core/retry.ts";
import { LeaseLostError, StorageError, ValidationError } from "../errors.ts";
import { failureMessage, withReason } from "../_failure.ts";
import { parseResult } from "../_json_data.ts";
import { isIsolated } from "./_isolated.ts";
import { type Task, TaskStatus } from "../task.ts";
import {
  type AbortCause,
  type HandlerDefinition,
  TaskAbortedError,
  type TaskContext,
  type WorkerQueue,
} from "../worker_options.ts";

/** A task a worker is running. */
export interface Run {
  /** The latest copy of the task (heartbeats and progress refresh it). */
  task: Task;
  /** Aborts the handler's `ctx.signal`. */
  readonly controller: AbortController;
  /** Its run time limit, in ms, if it has one. */
  readonly timeoutMs: number | undefined;
  /** How often its lease is extended, in ms. */
  readonly every: number;
  /** Time left until its next heartbeat, in ms. */
  untilBeat: number;
  /** Time left until its timeout, in ms (`Infinity`: none). */
  untilTimeout: number;
  /** The timer loop's sleep it joined during, and `clock.now()` then (see `_timers.ts`). */
  epoch: number;
  joinedAt: number;
  /** Set once the handler has settled or been abandoned: its timers stop, late answers are ignored. */
  over: boolean;
  /** Whether the handler has started. */
  started: boolean;
  /**
   * Set once the handler itself has settled (or was never called): until then the run holds its
   * slot, even when its attempt already ended (timeout, cancel, lost lease, shutdown).
   */
  settled: boolean;
  /** Set once its outcome is recorded (the worker sets it). */
  recorded: boolean;
  /** When the run has ended and its outcome is recorded (the worker sets it). */
  done: Promise<void>;
  /** When the handler has settled (resolved at once if it never runs). */
  readonly handled: Promise<void>;
  /** Resolves {@linkcode Run.handled}. */
  readonly markSettled: () => void;
}

const STARTING: Promise<void> = Promise.resolve();

/**
 * A run of a claimed task, before it starts.
 *
 * @param task The task as claimed.
 * @param definition Its handler, if there is one (for the type's timeout).
 * @param heartbeatIntervalMs The worker's heartbeat interval, if set.
 * @param maxRunMs The worker's time limit for tasks that set none (`Infinity`: none).
 * @returns The run.
 */
export function newRun(
  task: Task,
  definition: HandlerDefinition | undefined,
  heartbeatIntervalMs: number | undefined,
  maxRunMs?: number,
): Run {
  const limit = task.timeoutMs ?? definition?.timeoutMs ?? maxRunMs;
  const timeoutMs = limit === Infinity ? undefined : limit;
  const every = heartbeatIntervalMs ?? Math.max(1, Math.floor((task.leaseMs ?? 30_000) / 3));
  let markSettled!: () => void;
  const handled = new Promise<void>((resolve) => (markSettled = resolve));
  const run: Run = {
    task,
    controller: new AbortController(),
    timeoutMs,
    every,
    untilBeat: every,
    untilTimeout: timeoutMs ?? Infinity,
    epoch: 0,
    joinedAt: 0,
    over: false,
    started: false,
    settled: false,
    recorded: false,
    done: STARTING,
    handled,
    markSettled: () => {
      run.settled = true;
      markSettled();
    },
  };
  return run;
}

/** What running a task needs of its worker. */
export interface RunEnv {
  readonly queue: WorkerQueue;
  readonly workerId: string;
  readonly handlers: ReadonlyMap<string, HandlerDefinition>;
  readonly onDeadLetter: ((task: Task) => void | Promise<void>) | undefined;
  readonly onError: (error: unknown, task: Task | null) => void;
  /** The worker's clock (waits between retries of a transition). */
  readonly clock: Clock;
  /**
   * Called once a run's handler has settled and the transition that ends it has been issued, in
   * the same turn: a claim for the freed slot made now shares that transition's commit. Called
   * again when a handler that outlived its attempt settles at last.
   */
  readonly freed: () => void;
}

/**
 * Aborts a run's signal, once.
 *
 * @param run The run.
 * @param cause Why.
 * @param message The reason's message.
 */
export function abortRun(run: Run, cause: AbortCause, message: string): void {
  if (!run.controller.signal.aborted) run.controller.abort(new TaskAbortedError(cause, message));
}

/**
 * The reason a run's time limit passed: an isolated handler's says its thread was terminated.
 *
 * @param run The run.
 * @param isolated Whether its handler runs in a thread of its own.
 * @returns The message its attempt fails with.
 */
export function timeoutMessage(run: Run, isolated: boolean): string {
  return isolated
    ? `Task ${run.task.id} timed out after ${run.timeoutMs} ms (isolated handler terminated)`
    : `Task timed out after ${run.timeoutMs} ms`;
}

/**
 * Extends a run's lease; a cancel mark or a lost lease aborts it.
 *
 * @param run The run.
 * @param env The worker.
 */
export async function heartbeatRun(run: Run, env: RunEnv): Promise<void> {
  run.untilBeat = run.every;
  try {
    const task = await env.queue.heartbeat(run.task);
    if (run.over) return;
    run.task = task;
    if (task.cancelRequestedAt !== null) abortRun(run, "cancelled", "The task was cancelled");
  } catch (error) {
    if (run.over) return;
    if (error instanceof LeaseLostError) abortRun(run, "lease_lost", error.message);
    else env.onError(error, run.task);
  }
}

/**
 * Runs a claimed task to its end and records the outcome.
 *
 * @param run The run (its task as claimed).
 * @param env The worker.
 * @returns When the outcome is recorded (it never rejects: queue errors go to `onError`). The
 * handler may still be running then (it ignored its abort): see {@linkcode Run.handled}.
 */
export async function executeRun(run: Run, env: RunEnv): Promise<void> {
  const { task, controller } = run;
  const { queue } = env;
  run.started = true;
  const definition = env.handlers.get(task.taskType);
  if (!definition) {
    run.over = true;
    run.markSettled();
    const message = `No handler registered for task type "${task.taskType}"`;
    return finish(env, run, () => queue.failTask(task, message, { retry: false }));
  }

  const context: TaskContext = {
    task,
    workerId: env.workerId,
    signal: controller.signal,
    heartbeat: () => heartbeatRun(run, env),
    progress: async (value) => {
      run.task = await queue.progress(run.task, value);
    },
  };
  // A handler that returned at once is recorded in this turn: its completion joins the batch of
  // the others that did (an await would put it behind their commit).
  const settling = settleHandler(definition, context, () => {
    const late = run.over; // its attempt ended before it did: the slot frees only now
    run.markSettled();
    if (late) env.freed();
  });
  const outcome = settling instanceof Promise ? await settling : settling;
  run.over = true;

  if ("aborted" in outcome) {
    const reason = outcome.aborted;
    queue.logger.warn("Task aborted", { taskId: task.id, cause: reason.cause });
    // Past its time limit a handler is not waited for: its slot frees now (an isolated one's once
    // its thread is terminated). After a lost lease or a cancel, it keeps its slot until it
    // settles or its time limit passes.
    if (reason.cause === "timeout" && !isIsolated(definition.handler)) run.markSettled();
    if (reason.cause === "lease_lost") {
      return env.onError(new LeaseLostError("run", task.id, "lease lost while running"), task);
    }
    if (reason.cause === "shutdown") return finish(env, run, () => queue.release(task));
    const failure = failureOf(task, reason, definition.retry);
    return finish(env, run, () => queue.failTask(task, failure.message, failure.options));
  }
  if ("error" in outcome) {
    const failure = failureOf(task, outcome.error, definition.retry);
    return finish(env, run, () => queue.failTask(task, failure.message, failure.options));
  }
  // The result as JSON.stringify gives it (a Date as its ISO string), here and not only in the
  // queue: a remote queue serialises it too. One that cannot be serialised (a cycle, a BigInt)
  // would fail the same way at every attempt, so it ends the task, never retried: a retry would
  // repeat the handler's side effects for nothing.
  let result: unknown;
  try {
    result = parseResult(outcome.value, "task result");
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return finish(env, run, () => queue.failTask(task, error, { retry: false }));
  }
  return finish(env, run, async () => {
    try {
      return await queue.completeTask(task, result);
    } catch (error) {
      // A result the queue still refuses ends the task too; anything else is the queue's problem.
      if (!(error instanceof ValidationError)) throw error;
      return await queue.failTask(task, error, { retry: false });
    }
  });
}

/**
 * The message and retry choice for whatever a handler threw: never throws. A retry strategy that
 * throws or gives no usable delay fails the task for good, saying why.
 */
function failureOf(
  task: Task,
  error: unknown,
  strategy: RetryStrategy | undefined,
): { message: string; options: FailOptions } {
  const message = failureMessage(error);
  try {
    return { message, options: failOptionsFor({ task, error, strategy }) };
  } catch (problem) {
    return { message: withReason(message, failureMessage(problem)), options: { retry: false } };
  }
}

type HandlerOutcome = { value: unknown } | { error: unknown } | { aborted: TaskAbortedError };

/**
 * Calls the handler and waits for it, or for its abort: a handler that ignores its signal is not
 * awaited. A handler that returns without a promise is done at once (no race, no listener).
 * `settled` is called once the handler itself has settled, whichever came first.
 */
function settleHandler(
  definition: HandlerDefinition,
  context: TaskContext,
  settled: () => void,
): HandlerOutcome | Promise<HandlerOutcome> {
  // Aborted before it started (a prefetched task cancelled while it waited): not run at all.
  if (context.signal.aborted) {
    settled();
    return { aborted: context.signal.reason };
  }
  let returned: unknown;
  try {
    returned = definition.handler(context.task.payload, context);
  } catch (error) {
    settled();
    return { error };
  }
  let thenable: boolean;
  try {
    thenable = isThenable(returned);
  } catch (error) {
    // A returned Proxy whose `then` throws.
    settled();
    return { error };
  }
  if (!thenable) {
    settled();
    return { value: returned };
  }
  const { signal } = context;
  const aborted = new Promise<HandlerOutcome>((resolve) => {
    signal.addEventListener("abort", () => resolve({ aborted: signal.reason }), { once: true });
  });
  const outcome = new Promise<HandlerOutcome>((resolve) => {
    try {
      (returned as PromiseLike<unknown>).then(
        (value) => resolve({ value }),
        (error: unknown) => resolve({ error }),
      );
    } catch (error) {
      resolve({ error }); // a `then` that throws
    }
  });
  void outcome.finally(settled);
  return Promise.race([outcome, aborted]);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/** How often and how long a transition that the storage refused for a passing reason is retried. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;

/** A storage failure that may pass (a lock, a full disk, an I/O error): worth retrying. */
export function isPassingStorageError(error: unknown): boolean {
  return error instanceof StorageError &&
    (error.code === "busy" || error.code === "full" || error.code === "io");
}

/**
 * Records the end of a run; reports queue errors, calls the dead-letter hook. A transition the
 * storage refused for a passing reason is issued again, with backoff on the worker's clock, while
 * the run's lease holds; the lease is extended meanwhile. Only once the lease is gone is the
 * error reported (the task is then recovered as any expired lease).
 */
async function finish(env: RunEnv, run: Run, transition: () => Promise<Task>): Promise<void> {
  const { task } = run;
  let after: Task;
  let recorded = issue(transition);
  env.freed();
  for (let retries = 0;; retries++) {
    try {
      after = await recorded;
      break;
    } catch (error) {
      if (!isPassingStorageError(error) || !(await holdLease(env, run))) {
        env.onError(error, task);
        return;
      }
      env.queue.logger.warn("Retrying a transition the storage refused", {
        taskId: task.id,
        retries,
        error: String(error),
      });
      // Never sleep past a heartbeat: the lease is extended between retries.
      await env.clock.sleep(Math.min(RETRY_MAX_MS, run.every, RETRY_FIRST_MS * 2 ** retries));
      if (!leaseLeft(env, run)) {
        env.onError(error, task);
        return;
      }
      recorded = issue(transition);
    }
  }
  env.queue.logger.debug("Task finished", { taskId: after.id, status: after.status });
  if (after.status === TaskStatus.FAILED && env.onDeadLetter) {
    try {
      await env.onDeadLetter(after);
    } catch (error) {
      env.onError(error, after);
    }
  }
}

/** Calls a transition; a synchronous throw becomes a rejection. */
function issue(transition: () => Promise<Task>): Promise<Task> {
  try {
    return transition();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Whether the run's lease still holds by the worker's clock. */
function leaseLeft(env: RunEnv, run: Run): boolean {
  const expiresAt = run.task.leaseExpiresAt;
  return expiresAt === null || expiresAt > env.clock.now();
}

/**
 * Between retries of a transition: extends the lease when a heartbeat is due (a failing
 * heartbeat is ignored, the lease may still hold); whether it still holds.
 */
async function holdLease(env: RunEnv, run: Run): Promise<boolean> {
  const expiresAt = run.task.leaseExpiresAt;
  if (expiresAt !== null && expiresAt - env.clock.now() <= 2 * run.every) {
    try {
      run.task = await env.queue.heartbeat(run.task);
    } catch (error) {
      if (error instanceof LeaseLostError) return false;
    }
  }
  return leaseLeft(env, run);
}
