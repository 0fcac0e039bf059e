/**
 * {@linkcode Worker}: runs handlers for claimed tasks, `concurrency` at a time, as a polling loop
 * ({@linkcode Worker.start}) or one pass at a time ({@linkcode Worker.tick}, for `Deno.cron` and
 * serverless). It heartbeats leases, enforces timeouts, aborts cancelled tasks, applies retry
 * policies and shuts down gracefully.
 *
 * @module
 */

import { retryDelay } from "./backoff.ts";
import { LeaseLostError, PermanentError, RetryableError } from "./errors.ts";
import { failureMessage } from "./_failure.ts";
import type { Logger } from "./logger.ts";
import type { DequeueOptions, FailOptions } from "./queue.ts";
import { type RetryPolicy, type Task, TaskStatus } from "./task.ts";

/**
 * What a {@linkcode Worker} needs of a queue: the claim-side verbs. {@linkcode TaskQueue}
 * implements it in process; `HttpQueueClient` implements it over HTTP for remote workers.
 */
export interface WorkerQueue {
  /** Where the worker logs. */
  readonly logger: Logger;
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

/**
 * The delay before the next attempt: a {@linkcode RetryPolicy}, or a function of the failed
 * attempts so far, the error and the task.
 */
export type RetryStrategy =
  | RetryPolicy
  | ((retryCount: number, error: unknown, task: Task) => number);

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
   * How often to poll for due tasks when idle, and for cancellations while busy.
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

type State = "idle" | "running" | "stopping";

/** A task this worker is running: its latest copy, its abort switch, and when it settles. */
interface Run {
  task: Task;
  readonly controller: AbortController;
  done: Promise<void>;
}

/**
 * Claims due tasks and runs their handlers. Several workers, in one process or many, can share a
 * queue file: each task runs once per claim.
 *
 * @example A polling worker
 * ```ts
 * import { TaskQueue, Worker } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.enqueue({ name: "Welcome", taskType: "send_email", payload: { to: "a@b.c" } });
 * const worker = new Worker(queue, {
 *   handlers: {
 *     send_email: async (payload, ctx) => {
 *       await fetch("data:,sent", { signal: ctx.signal });
 *       return { sent: payload.to };
 *     },
 *   },
 *   concurrency: 4,
 * });
 * worker.start();
 * await worker.onIdle();
 * await worker.stop({ timeoutMs: 10_000 });
 * console.log((await queue.getQueueStats()).completed); // 1
 * await queue.close();
 * ```
 */
export class Worker {
  /** The name recorded on claimed tasks. */
  readonly id: string;
  readonly #queue: WorkerQueue;
  readonly #handlers: ReadonlyMap<string, HandlerDefinition>;
  readonly #concurrency: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number | undefined;
  readonly #heartbeatIntervalMs: number | undefined;
  readonly #taskTypes: readonly string[] | undefined;
  readonly #maintenance: boolean;
  readonly #onDeadLetter: ((task: Task) => void | Promise<void>) | undefined;
  readonly #onError: (error: unknown, task: Task | null) => void;
  #state: State = "idle";
  #loop: Promise<number> | null = null;
  readonly #runs = new Map<number, Run>();
  #wake: (() => void) | null = null;
  #claims: AbortController = new AbortController();
  #polls = 0;
  #idleWaiters: { after: number; resolve: () => void }[] = [];

  /**
   * Creates a worker; it does nothing until {@linkcode Worker.start} or {@linkcode Worker.tick}.
   *
   * @param queue The queue to claim from: a {@linkcode TaskQueue}, or any {@linkcode WorkerQueue}.
   * @param options Handlers and tuning.
   */
  constructor(queue: WorkerQueue, options: WorkerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Invalid worker options: must be an object with handlers");
    }
    const { handlers, concurrency = 1, pollIntervalMs = 1000, leaseMs, taskTypes } = options;
    const { heartbeatIntervalMs } = options;
    if (typeof handlers !== "object" || handlers === null) {
      throw new TypeError("Invalid worker options: handlers must be an object of functions");
    }
    const definitions = new Map<string, HandlerDefinition>();
    for (const [type, entry] of Object.entries(handlers)) {
      const definition = typeof entry === "function" ? { handler: entry } : entry;
      if (typeof definition?.handler !== "function") {
        throw new TypeError(
          `Invalid worker options: handlers.${type} must be a function or { handler, timeoutMs?, retry? }`,
        );
      }
      checkPositive(`handlers.${type}.timeoutMs`, definition.timeoutMs);
      definitions.set(type, definition);
    }
    for (
      const [name, value] of Object.entries({
        concurrency,
        pollIntervalMs,
        leaseMs,
        heartbeatIntervalMs,
      })
    ) {
      checkPositive(name, value);
    }
    const types = taskTypes === "*" ? undefined : taskTypes ?? [...definitions.keys()];
    if (types?.length === 0) {
      throw new TypeError("Invalid worker options: no handlers and no taskTypes to claim");
    }
    this.id = options.workerId ?? `worker-${crypto.randomUUID().slice(0, 8)}`;
    this.#queue = queue;
    this.#handlers = definitions;
    this.#concurrency = concurrency;
    this.#pollIntervalMs = pollIntervalMs;
    this.#leaseMs = leaseMs;
    this.#heartbeatIntervalMs = heartbeatIntervalMs;
    this.#taskTypes = types;
    this.#maintenance = options.maintenance ?? true;
    this.#onDeadLetter = options.onDeadLetter;
    this.#onError = options.onError ??
      ((error, task) =>
        queue.logger.error("Worker error", {
          workerId: this.id,
          taskId: task?.id,
          error: String(error),
        }));
  }

  /** How many tasks are running now. */
  get running(): number {
    return this.#runs.size;
  }

  /**
   * Starts polling: claims due tasks into free slots, and waits `pollIntervalMs` when none is due.
   * Calling it while started does nothing.
   */
  start(): void {
    if (this.#state === "running") return;
    if (this.#state === "stopping") throw new Error("Cannot start the worker: it is stopping");
    this.#state = "running";
    this.#claims = new AbortController();
    this.#queue.logger.info("Worker started", { workerId: this.id });
    this.#loop = this.#run(false);
  }

  /**
   * Stops claiming and waits for the running tasks to finish. After `timeoutMs`, the tasks still
   * running are aborted (`ctx.signal`, cause `"shutdown"`) and their leases given back, so that
   * another worker picks them up at once.
   *
   * @param options How long to wait before aborting.
   * @returns When every task has finished or been given back.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const { timeoutMs = Infinity } = options;
    if (!(timeoutMs >= 0)) throw new RangeError("Invalid stop options: timeoutMs must be >= 0");
    if (this.#state === "running") this.#state = "stopping";
    this.#claims.abort(); // a claim in flight (a remote long poll) ends now
    this.#wake?.();
    await this.#loop;
    if (this.#runs.size > 0 && Number.isFinite(timeoutMs)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([this.#settled(), late]);
      clearTimeout(timer);
      for (const run of this.#runs.values()) {
        run.controller.abort(new TaskAbortedError("shutdown", "The worker is shutting down"));
      }
    }
    await this.#settled();
    if (this.#state === "stopping") {
      this.#queue.logger.info("Worker stopped", { workerId: this.id });
    }
    this.#state = "idle";
    this.#loop = null;
  }

  /**
   * Processes what is due now and returns: runs due schedules, then claims and runs tasks,
   * `concurrency` at a time, until none is due and none is running. For `Deno.cron`, serverless
   * handlers and tests.
   *
   * @example Driven by Deno.cron
   * ```ts ignore
   * Deno.cron("tasklite", "* * * * *", () => worker.tick());
   * ```
   *
   * @returns How many tasks it ran.
   * @throws {Error} The worker is started.
   */
  async tick(): Promise<number> {
    if (this.#state !== "idle") throw new Error("Cannot tick the worker: it is started");
    this.#state = "running";
    this.#claims = new AbortController();
    try {
      this.#loop = this.#run(true);
      return await this.#loop;
    } finally {
      this.#state = "idle";
      this.#loop = null;
    }
  }

  /**
   * Resolves when the worker is idle: a poll that started after this call found nothing due and
   * nothing is running, so everything due when it was called has been processed. It asks for that
   * poll at once. A worker that is not started is idle once its running tasks are done.
   *
   * @returns When idle.
   */
  onIdle(): Promise<void> {
    if (this.#state !== "running") return this.#settled().then(() => {});
    return new Promise((resolve) => {
      this.#idleWaiters.push({ after: this.#polls, resolve });
      this.#wake?.();
    });
  }

  /** The claim loop; in `once` mode it returns when nothing is due and nothing runs. */
  async #run(once: boolean): Promise<number> {
    let ran = 0;
    let maintainedAt = -Infinity;
    while (this.#state === "running") {
      const poll = ++this.#polls;
      if (this.#maintenance && performance.now() - maintainedAt >= this.#pollIntervalMs) {
        maintainedAt = performance.now();
        await this.#guard(() => this.#queue.maintain());
      }
      if (this.#runs.size > 0) await this.#guard(() => this.#checkCancellations());
      const free = this.#concurrency - this.#runs.size;
      let claimed: Task[] = [];
      if (free > 0) {
        const tasks = await this.#guard(() =>
          this.#queue.dequeueMany(free, {
            ...(this.#taskTypes ? { taskTypes: this.#taskTypes } : {}),
            ...(this.#leaseMs ? { leaseMs: this.#leaseMs } : {}),
            workerId: this.id,
          }, { signal: this.#claims.signal, wait: !once })
        );
        if (tasks === undefined && once) break;
        claimed = tasks ?? [];
        if (this.#state !== "running") {
          // Claimed while stop() began: give them back untouched rather than start them.
          await Promise.all(claimed.map((task) => this.#guard(() => this.#queue.release(task))));
          break;
        }
      }
      for (const task of claimed) this.#launch(task);
      ran += claimed.length;
      if (claimed.length === 0 && this.#runs.size === 0) {
        this.#setIdle(poll);
        if (once) break;
      }
      if (claimed.length === 0 || this.#runs.size >= this.#concurrency) {
        await this.#sleep(this.#pollIntervalMs);
      }
    }
    if (once) await this.#settled();
    return ran;
  }

  /** Runs a queue call; reports and swallows its error (returns `undefined`). */
  async #guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      // A claim aborted by stop() is not an error.
      if (!this.#claims.signal.aborted) this.#onError(error, null);
      return undefined;
    }
  }

  async #checkCancellations(): Promise<void> {
    const ids = await this.#queue.cancelRequested([...this.#runs.keys()]);
    for (const id of ids) {
      this.#runs.get(id)?.controller.abort(
        new TaskAbortedError("cancelled", "The task was cancelled"),
      );
    }
  }

  /** When every running task has settled. */
  #settled(): Promise<unknown> {
    return Promise.all([...this.#runs.values()].map((run) => run.done));
  }

  #launch(task: Task): void {
    const run: Run = { task, controller: new AbortController(), done: Promise.resolve() };
    this.#runs.set(task.id, run);
    run.done = this.#execute(run).finally(() => {
      this.#runs.delete(task.id);
      this.#wake?.();
    });
  }

  async #execute(run: Run): Promise<void> {
    const { task, controller } = run;
    const definition = this.#handlers.get(task.taskType);
    if (!definition) {
      await this.#finish(task, () =>
        this.#queue.failTask(
          task,
          `No handler registered for task type "${task.taskType}"`,
          { retry: false },
        ));
      return;
    }
    const abort = (cause: AbortCause, message: string) => {
      if (!controller.signal.aborted) controller.abort(new TaskAbortedError(cause, message));
    };

    const timeoutMs = task.timeoutMs ?? definition.timeoutMs;
    const timeout = timeoutMs === undefined ? undefined : setTimeout(
      () => abort("timeout", `Task timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    const heartbeat = async () => {
      try {
        run.task = await this.#queue.heartbeat(run.task);
        if (run.task.cancelRequestedAt !== null) abort("cancelled", "The task was cancelled");
      } catch (error) {
        if (error instanceof LeaseLostError) abort("lease_lost", error.message);
        else this.#onError(error, task);
      }
    };
    const every = this.#heartbeatIntervalMs ??
      Math.max(1, Math.floor((task.leaseMs ?? 30_000) / 3));
    const heartbeats = setInterval(() => void heartbeat(), every);

    const context: TaskContext = {
      task,
      workerId: this.id,
      signal: controller.signal,
      heartbeat,
      progress: async (value) => {
        run.task = await this.#queue.progress(run.task, value);
      },
    };
    const aborted = new Promise<{ aborted: TaskAbortedError }>((resolve) => {
      controller.signal.addEventListener(
        "abort",
        () => resolve({ aborted: controller.signal.reason }),
        { once: true },
      );
    });
    const settled = Promise.resolve()
      .then(() => definition.handler(task.payload, context))
      .then((value) => ({ value }), (error: unknown) => ({ error }));
    const outcome = await Promise.race([settled, aborted]);
    clearTimeout(timeout);
    clearInterval(heartbeats);

    if ("aborted" in outcome) {
      const reason = outcome.aborted;
      this.#queue.logger.warn("Task aborted", { taskId: task.id, cause: reason.cause });
      if (reason.cause === "lease_lost") {
        return this.#onError(new LeaseLostError("run", task.id, "lease lost while running"), task);
      }
      if (reason.cause === "shutdown") {
        await this.#finish(task, () => this.#queue.release(task));
        return;
      }
      await this.#finish(
        task,
        () =>
          this.#queue.failTask(task, reason.message, this.#retryOptions(definition, reason, task)),
      );
      return;
    }
    if ("error" in outcome) {
      await this.#finish(task, () =>
        this.#queue.failTask(
          task,
          failureMessage(outcome.error),
          this.#retryOptions(definition, outcome.error, task),
        ));
      return;
    }
    await this.#finish(task, async () => {
      try {
        return await this.#queue.completeTask(task, outcome.value);
      } catch (error) {
        // A result that is not JSON fails the attempt; anything else is the queue's problem.
        if (!(error instanceof TypeError)) throw error;
        return await this.#queue.failTask(task, error);
      }
    });
  }

  /** The retry choice for a failed attempt: the error's, the task's, the type's, the queue's. */
  #retryOptions(definition: HandlerDefinition, error: unknown, task: Task): FailOptions {
    if (error instanceof PermanentError) return { retry: false };
    if (error instanceof RetryableError && error.delayMs !== undefined) {
      return { retryDelayMs: error.delayMs };
    }
    const strategy = definition.retry;
    if (task.retryPolicy || strategy === undefined) return {};
    const retryCount = task.retryCount + 1;
    const delay = typeof strategy === "function"
      ? strategy(retryCount, error, task)
      : retryDelay(strategy, retryCount);
    return { retryDelayMs: Math.max(0, Math.round(delay)) };
  }

  /** Records the end of a run; reports queue errors, calls the dead-letter hook. */
  async #finish(task: Task, transition: () => Promise<Task>): Promise<void> {
    let after: Task;
    try {
      after = await transition();
    } catch (error) {
      this.#onError(error, task);
      return;
    }
    this.#queue.logger.debug("Task finished", { taskId: after.id, status: after.status });
    if (after.status === TaskStatus.FAILED && this.#onDeadLetter) {
      try {
        await this.#onDeadLetter(after);
      } catch (error) {
        this.#onError(error, after);
      }
    }
  }

  /** Waits `ms`; a finished task or `stop()` wakes it early. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Resolves the idle waiters registered before this poll started. */
  #setIdle(poll: number): void {
    const ready = this.#idleWaiters.filter((waiter) => waiter.after < poll);
    this.#idleWaiters = this.#idleWaiters.filter((waiter) => waiter.after >= poll);
    for (const waiter of ready) waiter.resolve();
  }
}

function checkPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`Invalid worker options: ${name} must be a positive integer`);
  }
}
