/**
 * Running one claimed task: its abort switch, the handler raced against the abort (a handler that
 * ignores its signal is never awaited), and the one transition that ends the run: `completeTask`,
 * `failTask` (with the retry choice of {@linkcode failOptionsFor}) or `release`. Its heartbeats
 * and its timeout are the worker's timer loop's (`_timers.ts`).
 *
 * @module
 */

import { failOptionsFor } from "../core/retry.ts";
import { LeaseLostError, ValidationError } from "../errors.ts";
import { failureMessage } from "../_failure.ts";
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
  /** When the run has ended and its outcome is recorded (the worker sets it). */
  done: Promise<void>;
}

const STARTING: Promise<void> = Promise.resolve();

/**
 * A run of a claimed task, before it starts.
 *
 * @param task The task as claimed.
 * @param definition Its handler, if there is one (for the type's timeout).
 * @param heartbeatIntervalMs The worker's heartbeat interval, if set.
 * @returns The run.
 */
export function newRun(
  task: Task,
  definition: HandlerDefinition | undefined,
  heartbeatIntervalMs: number | undefined,
): Run {
  const timeoutMs = task.timeoutMs ?? definition?.timeoutMs;
  const every = heartbeatIntervalMs ?? Math.max(1, Math.floor((task.leaseMs ?? 30_000) / 3));
  return {
    task,
    controller: new AbortController(),
    timeoutMs,
    every,
    untilBeat: every,
    untilTimeout: timeoutMs ?? Infinity,
    epoch: 0,
    joinedAt: 0,
    over: false,
    done: STARTING,
  };
}

/** What running a task needs of its worker. */
export interface RunEnv {
  readonly queue: WorkerQueue;
  readonly workerId: string;
  readonly handlers: ReadonlyMap<string, HandlerDefinition>;
  readonly onDeadLetter: ((task: Task) => void | Promise<void>) | undefined;
  readonly onError: (error: unknown, task: Task | null) => void;
  /**
   * Called once a run's handler has settled and the transition that ends it has been issued, in
   * the same turn: a claim for the freed slot made now shares that transition's commit.
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
 * @returns When the outcome is recorded (it never rejects: queue errors go to `onError`).
 */
export async function executeRun(run: Run, env: RunEnv): Promise<void> {
  const { task, controller } = run;
  const { queue } = env;
  const definition = env.handlers.get(task.taskType);
  if (!definition) {
    run.over = true;
    const message = `No handler registered for task type "${task.taskType}"`;
    return finish(env, task, () => queue.failTask(task, message, { retry: false }));
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
  const settling = settleHandler(definition, context);
  const outcome = settling instanceof Promise ? await settling : settling;
  run.over = true;

  if ("aborted" in outcome) {
    const reason = outcome.aborted;
    queue.logger.warn("Task aborted", { taskId: task.id, cause: reason.cause });
    if (reason.cause === "lease_lost") {
      return env.onError(new LeaseLostError("run", task.id, "lease lost while running"), task);
    }
    if (reason.cause === "shutdown") return finish(env, task, () => queue.release(task));
    const options = failOptionsFor({ task, error: reason, strategy: definition.retry });
    return finish(env, task, () => queue.failTask(task, reason.message, options));
  }
  if ("error" in outcome) {
    const options = failOptionsFor({ task, error: outcome.error, strategy: definition.retry });
    return finish(env, task, () => queue.failTask(task, failureMessage(outcome.error), options));
  }
  return finish(env, task, async () => {
    try {
      return await queue.completeTask(task, outcome.value);
    } catch (error) {
      // A result that is not JSON fails the attempt; anything else is the queue's problem.
      if (!(error instanceof ValidationError)) throw error;
      return await queue.failTask(task, error);
    }
  });
}

type HandlerOutcome = { value: unknown } | { error: unknown } | { aborted: TaskAbortedError };

/**
 * Calls the handler and waits for it, or for its abort: a handler that ignores its signal is not
 * awaited. A handler that returns without a promise is done at once (no race, no listener).
 */
function settleHandler(
  definition: HandlerDefinition,
  context: TaskContext,
): HandlerOutcome | Promise<HandlerOutcome> {
  // Aborted before it started (a prefetched task cancelled while it waited): not run at all.
  if (context.signal.aborted) return { aborted: context.signal.reason };
  let returned: unknown;
  try {
    returned = definition.handler(context.task.payload, context);
  } catch (error) {
    return { error };
  }
  if (!isThenable(returned)) return { value: returned };
  const { signal } = context;
  const aborted = new Promise<HandlerOutcome>((resolve) => {
    signal.addEventListener("abort", () => resolve({ aborted: signal.reason }), { once: true });
  });
  const settled = Promise.resolve(returned).then(
    (value): HandlerOutcome => ({ value }),
    (error: unknown): HandlerOutcome => ({ error }),
  );
  return Promise.race([settled, aborted]);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/** Records the end of a run; reports queue errors, calls the dead-letter hook. */
async function finish(env: RunEnv, task: Task, transition: () => Promise<Task>): Promise<void> {
  let after: Task;
  try {
    const recorded = transition();
    env.freed();
    after = await recorded;
  } catch (error) {
    env.onError(error, task);
    return;
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
