/**
 * {@linkcode Worker}: runs handlers for claimed tasks, `concurrency` at a time, as a polling loop
 * ({@linkcode Worker.start}) or one pass at a time ({@linkcode Worker.tick}, for `Deno.cron` and
 * serverless).
 *
 * @module
 */

import type { TaskQueue } from "./queue.ts";
import type { Task } from "./task.ts";

/** What a handler gets besides the payload. */
export interface TaskContext {
  /** The task as claimed. */
  readonly task: Task;
  /** The worker running it. */
  readonly workerId: string;
  /** Extends the lease by the duration it was claimed with; call it during long work. */
  heartbeat(): Promise<void>;
}

/**
 * Runs one task type: gets the payload, returns the result (JSON) or throws to fail the attempt.
 */
// deno-lint-ignore no-explicit-any
export type TaskHandler = (payload: any, context: TaskContext) => unknown;

/** How a worker runs. */
export interface WorkerOptions {
  /** The handler registry: task type → handler. */
  handlers: Readonly<Record<string, TaskHandler>>;
  /**
   * How many tasks run at once.
   *
   * @default {1}
   */
  concurrency?: number;
  /**
   * How long to wait before polling again when nothing was due.
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
   * Called with errors of the queue itself (not of handlers, which fail their task), such as a
   * lost lease or a closed queue.
   *
   * @default {console.error}
   */
  onError?: (error: unknown, task: Task | null) => void;
}

type State = "idle" | "running" | "stopping";

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
 *   handlers: { send_email: async (payload) => ({ sent: payload.to }) },
 *   concurrency: 4,
 * });
 * worker.start();
 * await worker.onIdle();
 * await worker.stop();
 * console.log((await queue.getQueueStats()).completed); // 1
 * await queue.close();
 * ```
 */
export class Worker {
  /** The name recorded on claimed tasks. */
  readonly id: string;
  readonly #queue: TaskQueue;
  readonly #handlers: Readonly<Record<string, TaskHandler>>;
  readonly #concurrency: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number | undefined;
  readonly #taskTypes: readonly string[] | undefined;
  readonly #onError: (error: unknown, task: Task | null) => void;
  #state: State = "idle";
  #loop: Promise<number> | null = null;
  readonly #active = new Set<Promise<void>>();
  #wake: (() => void) | null = null;
  #idle = false;
  #idleWaiters: (() => void)[] = [];

  /**
   * Creates a worker; it does nothing until {@linkcode Worker.start} or {@linkcode Worker.tick}.
   *
   * @param queue The queue to claim from.
   * @param options Handlers and tuning.
   */
  constructor(queue: TaskQueue, options: WorkerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Invalid worker options: must be an object with handlers");
    }
    const { handlers, concurrency = 1, pollIntervalMs = 1000, leaseMs, taskTypes } = options;
    if (typeof handlers !== "object" || handlers === null) {
      throw new TypeError("Invalid worker options: handlers must be an object of functions");
    }
    for (const [type, handler] of Object.entries(handlers)) {
      if (typeof handler !== "function") {
        throw new TypeError(`Invalid worker options: handlers.${type} must be a function`);
      }
    }
    for (const [name, value] of Object.entries({ concurrency, pollIntervalMs, leaseMs })) {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new RangeError(`Invalid worker options: ${name} must be a positive integer`);
      }
    }
    const types = taskTypes === "*" ? undefined : taskTypes ?? Object.keys(handlers);
    if (types?.length === 0) {
      throw new TypeError("Invalid worker options: no handlers and no taskTypes to claim");
    }
    this.id = options.workerId ?? `worker-${crypto.randomUUID().slice(0, 8)}`;
    this.#queue = queue;
    this.#handlers = handlers;
    this.#concurrency = concurrency;
    this.#pollIntervalMs = pollIntervalMs;
    this.#leaseMs = leaseMs;
    this.#taskTypes = types;
    this.#onError = options.onError ?? ((error) => console.error(error));
  }

  /** How many tasks are running now. */
  get running(): number {
    return this.#active.size;
  }

  /**
   * Starts polling: claims due tasks into free slots, and waits `pollIntervalMs` when none is due.
   * Calling it while started does nothing.
   */
  start(): void {
    if (this.#state === "running") return;
    if (this.#state === "stopping") throw new Error("Cannot start the worker: it is stopping");
    this.#state = "running";
    this.#idle = false;
    this.#loop = this.#run(false);
  }

  /**
   * Stops claiming and waits for the running tasks to finish. Calling it again waits again.
   *
   * @returns When every running task has finished.
   */
  async stop(): Promise<void> {
    if (this.#state === "running") this.#state = "stopping";
    this.#wake?.();
    await this.#loop;
    await Promise.all(this.#active);
    this.#state = "idle";
    this.#loop = null;
  }

  /**
   * Processes what is due now and returns: claims and runs tasks, `concurrency` at a time, until
   * none is due and none is running. For `Deno.cron`, serverless handlers and tests.
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
    try {
      this.#loop = this.#run(true);
      return await this.#loop;
    } finally {
      this.#state = "idle";
      this.#loop = null;
    }
  }

  /**
   * Resolves when the worker is idle: nothing running, and its last poll found nothing due.
   *
   * @returns When idle.
   */
  onIdle(): Promise<void> {
    if (this.#idle && this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The claim loop; in `once` mode it returns when nothing is due and nothing runs. */
  async #run(once: boolean): Promise<number> {
    let ran = 0;
    while (this.#state === "running") {
      const free = this.#concurrency - this.#active.size;
      let claimed: Task[] = [];
      if (free > 0) {
        try {
          claimed = await this.#queue.dequeueMany(free, {
            ...(this.#taskTypes ? { taskTypes: this.#taskTypes } : {}),
            ...(this.#leaseMs ? { leaseMs: this.#leaseMs } : {}),
            workerId: this.id,
          });
        } catch (error) {
          this.#onError(error, null);
          if (once) break;
        }
      }
      for (const task of claimed) this.#launch(task);
      ran += claimed.length;
      if (claimed.length === 0 && this.#active.size === 0) {
        this.#setIdle();
        if (once) break;
      } else {
        this.#idle = false;
      }
      const full = this.#active.size >= this.#concurrency;
      if (claimed.length === 0 || full) {
        await this.#sleep(claimed.length === 0 && !once ? this.#pollIntervalMs : null);
      }
    }
    await Promise.all(this.#active);
    return ran;
  }

  #launch(task: Task): void {
    const run: Promise<void> = this.#execute(task).finally(() => {
      this.#active.delete(run);
      this.#wake?.();
    });
    this.#active.add(run);
  }

  async #execute(task: Task): Promise<void> {
    const handler = this.#handlers[task.taskType];
    try {
      if (!handler) {
        await this.#queue.failTask(
          task,
          `No handler registered for task type "${task.taskType}"`,
          { retry: false },
        );
        return;
      }
      let current = task;
      const context: TaskContext = {
        task,
        workerId: this.id,
        heartbeat: async () => {
          current = await this.#queue.heartbeat(current);
        },
      };
      let result: unknown;
      try {
        result = await handler(task.payload, context);
      } catch (error) {
        await this.#queue.failTask(task, toError(error));
        return;
      }
      try {
        await this.#queue.completeTask(task, result);
      } catch (error) {
        // A result that is not JSON fails the attempt; anything else is the queue's problem.
        if (!(error instanceof TypeError)) throw error;
        await this.#queue.failTask(task, error);
      }
    } catch (error) {
      this.#onError(error, task);
    }
  }

  /** Waits `ms` (or, with `null`, until woken): a finished task or `stop()` wakes it early. */
  #sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      if (ms !== null) timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #setIdle(): void {
    this.#idle = true;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function toError(error: unknown): Error | string {
  if (error instanceof Error) return error;
  const text = typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
  return text.trim() === "" ? "Handler threw an empty error" : text;
}
