/**
 * {@linkcode QueueReader}: the base of {@linkcode TaskQueue}: opening and closing, the clock, the
 * events, and the reads (one task, counts, lists, controls, schedules, metrics, the next wake-up
 * time). {@linkcode QueueOperations} adds the operator verbs, `TaskQueue` the task lifecycle; use
 * `TaskQueue`.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { Engine, Schedule, TypeControl } from "./engine.ts";
import type { HistoryOptions, QueueHistory } from "./history.ts";
import type { ListOptions } from "./task_query.ts";
import { buildHistory, windowStart } from "./_history.ts";
import type { QueueEventName, QueueListener } from "./events.ts";
import type { Logger } from "./logger.ts";
import type { QueueMetrics } from "./metrics.ts";
import type { Notifier } from "./notifier.ts";
import type { OpenOptions, QueueOptions } from "./queue_options.ts";
import type { QueueStats, Task, TaskStatus } from "./task.ts";
import type { TaskExplanation } from "./core/explain.ts";
import type { WaitOptions, WorkerInfo } from "./queue_options.ts";
import { attachCore, QueueCore } from "./_queue_core.ts";
import { explainOne } from "./_explain_task.ts";
import { waitForTask } from "./_wait_for.ts";
import { listWorkers } from "./_worker_registry.ts";
import {
  HistoryOptionsSchema,
  IdSchema,
  LimitSchema,
  ListOptionsSchema,
  OffsetSchema,
  OpenOptionsSchema,
  parse,
  StatusSchema,
  WaitOptionsSchema,
} from "./_validation.ts";

/**
 * What every queue can read and observe; {@linkcode TaskQueue} is the class to construct.
 *
 * @example Usage
 * ```ts
 * import { TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * console.log(await queue.getQueueStats()); // { pending: 0, running: 0, ... }
 * await queue.close();
 * ```
 */
export class QueueReader {
  readonly #core: QueueCore;
  /** The clock of this queue and its workers. */
  readonly clock: Clock;
  /** Wakes idle workers of this queue when tasks may be ready. */
  readonly notifier: Notifier;
  /** Where this queue and its workers log. */
  readonly logger: Logger;

  /**
   * Wraps an engine. Most callers want {@linkcode TaskQueue.open}.
   *
   * @param engine The storage engine.
   * @param options The queue's options (storage options such as `path` are accepted and ignored:
   * they are the engine's).
   */
  constructor(engine: Engine, options: QueueOptions | OpenOptions = {}) {
    parse(OpenOptionsSchema, options, "open options");
    this.#core = new QueueCore(engine, options);
    attachCore(this, this.#core);
    this.clock = this.#core.clock;
    this.notifier = this.#core.notifier;
    this.logger = this.#core.logger;
  }

  /**
   * The name of the storage engine, such as `sqlite (node:sqlite)`.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:", { driver: "node:sqlite" });
   * console.log(queue.engine); // "sqlite (node:sqlite)"
   * await queue.close();
   * ```
   *
   * @returns The engine's name.
   */
  get engine(): string {
    return this.#core.engine("name the engine of").name;
  }

  /**
   * The earliest time something is due: a pending task, a lease to recover or a schedule slot
   * (`null` when nothing is). Alarm-driven workers (a Durable Object alarm, a one-shot timer) sleep
   * until then.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Later", taskType: "job", scheduledAt: 2_000_000_000_000 });
   * console.log(await queue.nextWakeAt()); // 2000000000000
   * await queue.close();
   * ```
   *
   * @returns Epoch ms, or `null`.
   */
  async nextWakeAt(): Promise<number | null> {
    return await this.#core.engine("read the next wake time of").nextWakeAt();
  }

  /**
   * The queue's clock, in epoch milliseconds.
   *
   * @returns Now.
   */
  now(): number {
    return this.#core.now();
  }

  /**
   * One task.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.getTask(1)); // null
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @returns The task, or `null`.
   */
  async getTask(id: number): Promise<Task | null> {
    const engine = this.#core.engine("get");
    parse(IdSchema, id, "task id");
    return await engine.get(id);
  }

  /**
   * Every reason a task is not running right now, from the same conditions the claim checks (due
   * time and backoff, pauses, concurrency and rate limits) and from the worker registry (a live
   * worker for its type); for a running task, who holds its lease; for a finished one, its status.
   * Each reason has a `code` ({@linkcode ExplainCode}), a `message` and its data.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({ name: "Report", taskType: "report" });
   * await queue.pause("report");
   * const { runnable, reasons } = await queue.explain(id);
   * console.log(runnable, reasons.map((reason) => reason.code)); // false ["type_paused", "no_worker"]
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @returns The task, whether a claim may take it now, and every reason it is not running.
   * @throws {TaskNotFoundError} No such task.
   */
  async explain(id: number): Promise<TaskExplanation> {
    const engine = this.#core.engine("explain");
    parse(IdSchema, id, "task id");
    return await explainOne(this.#core, engine, id);
  }

  /**
   * The workers in the worker registry: every started {@linkcode Worker} of every process on the
   * queue (over HTTP too), live ones and those dead for less than an hour (`alive: false`).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.workers()); // []
   * await queue.close();
   * ```
   *
   * @returns The workers, by id.
   */
  async workers(): Promise<WorkerInfo[]> {
    return await listWorkers(this.#core, this.#core.engine("list workers of"));
  }

  /**
   * Waits until a task is finished (`completed`, `failed` or `cancelled`) and returns it. A finish
   * in this process ends the wait at once; one in another process is seen by reading the task
   * again every `pollIntervalMs` (one primary-key read). All waits are on the queue's clock.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue, Worker } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const id = await queue.enqueue({ name: "Add", taskType: "add", payload: [1, 2] });
   * const worker = new Worker(queue, { handlers: { add: ([a, b]: number[]) => a! + b! } });
   * worker.start();
   * const task = await queue.waitFor(id, { timeoutMs: 5_000 });
   * console.log(task.result); // 3
   * await worker.stop();
   * await queue.close();
   * ```
   *
   * @param id The task id.
   * @param options A timeout, a poll interval, an abort signal.
   * @returns The finished task.
   * @throws {WaitTimeoutError} Not finished within `timeoutMs`.
   * @throws {TaskNotFoundError} No such task (or it was pruned).
   */
  async waitFor(id: number, options: WaitOptions = {}): Promise<Task> {
    const engine = this.#core.engine("wait for");
    parse(IdSchema, id, "task id");
    parse(WaitOptionsSchema, options, "wait options");
    return await waitForTask(this.#core, engine, id, options);
  }

  /**
   * Counts of tasks per status; every status is present.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.getQueueStats());
   * // { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }
   * await queue.close();
   * ```
   *
   * @returns The counts.
   */
  async getQueueStats(): Promise<QueueStats> {
    return await this.#core.engine("count").stats();
  }

  /**
   * Tasks with a status: `pending` ones in the order workers claim them (highest priority, then
   * earliest `scheduledAt`, then lowest id: the next to run first, and a task not due yet where its
   * priority and due time put it), `running` ones newest first, finished ones most recently
   * finished first.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue, TaskStatus } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const recent = await queue.getTasksByStatus(TaskStatus.COMPLETED, 10);
   * console.log(recent.length); // 0
   * await queue.close();
   * ```
   *
   * @param status The status.
   * @param limit The most tasks to return.
   * @param offset How many to skip, for paging.
   * @param options `search`: keep tasks whose id is this number or whose name, task type,
   * concurrency key or payload contains this text (any case); `taskType`, `priority`: only those; `due`: pending tasks
   * `ready` now (claim order) or `scheduled` later (soonest first); `sort`: a column and direction.
   * @returns The tasks.
   */
  async getTasksByStatus(
    status: TaskStatus,
    limit = 100,
    offset = 0,
    options: ListOptions = {},
  ): Promise<Task[]> {
    const engine = this.#core.engine("list");
    parse(StatusSchema, status, "task status");
    parse(LimitSchema, limit, "list limit");
    parse(OffsetSchema, offset, "list offset");
    const parsed = parse(ListOptionsSchema, options, "list options");
    return await engine.list(status, limit, offset, {
      search: parsed.search || null,
      taskType: parsed.taskType ?? null,
      priority: parsed.priority ?? null,
      due: parsed.due ?? null,
      now: this.#core.now(),
      sort: parsed.sort ?? null,
    });
  }

  /**
   * Pause flags and limits per task type (`"*"` is the whole queue).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.pause("reports");
   * console.log((await queue.getControls())[0]?.taskType); // "reports"
   * await queue.close();
   * ```
   *
   * @returns The controls.
   */
  async getControls(): Promise<TypeControl[]> {
    return await this.#core.engine("read controls of").controls();
  }

  /**
   * Every schedule, by name.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * console.log(await queue.getSchedules()); // []
   * await queue.close();
   * ```
   *
   * @returns The schedules.
   */
  async getSchedules(): Promise<Schedule[]> {
    return await this.#core.engine("read schedules of").schedules();
  }

  /**
   * Subscribes to an in-process event: `enqueued`, `started`, `completed`, `failed` (an attempt
   * failed and will be retried), `dead` (no retries left), `retried`, `cancelled`, `progress`.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const off = queue.on("completed", ({ task }) => console.log(`#${task.id} done`));
   * off();
   * await queue.close();
   * ```
   *
   * @param event The event name.
   * @param listener Called with each event of this queue in this process.
   * @returns A function that unsubscribes.
   */
  on<E extends QueueEventName>(event: E, listener: QueueListener<E>): () => void {
    return this.#core.events.on(event, listener);
  }

  /**
   * Counters and durations per task type (this process's, since open) with live pending and
   * running counts (every process's). Render them for Prometheus with {@linkcode toPrometheus}.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * const metrics = await queue.metrics();
   * console.log(metrics.totals.pending); // 0
   * await queue.close();
   * ```
   *
   * @returns A snapshot.
   */
  async metrics(): Promise<QueueMetrics> {
    const engine = this.#core.engine("read metrics of");
    const [totals, live] = await Promise.all([engine.stats(), engine.liveCounts()]);
    return this.#core.metrics.snapshot(totals, live);
  }

  /**
   * The queue over time, from the per-minute history every process's transitions keep in the
   * queue's storage (so it survives restarts and covers every worker): completed, failed, dead and
   * cancelled attempts and the backlog (pending, running) per step, wait and run-time percentiles
   * per task type over the window, and all-time counts per task type. Backlog samples are taken
   * once a minute by {@linkcode TaskQueue.maintain} (workers run it as they poll).
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "Hello", taskType: "hello" });
   * await queue.completeTask((await queue.dequeue())!);
   * const history = await queue.history({ windowMs: 3_600_000 });
   * console.log(history.points.length, history.types[0]!.completed); // 60 1
   * await queue.close();
   * ```
   *
   * @param options The window (default the last hour) and the step (default a minute).
   * @returns Points, per-type percentiles and all-time totals.
   * @throws {ValidationError} Bad options.
   */
  async history(options: HistoryOptions = {}): Promise<QueueHistory> {
    const parsed = parse(HistoryOptionsSchema, options, "history options");
    const engine = this.#core.engine("read the history of");
    const window = {
      now: this.#core.now(),
      windowMs: parsed.windowMs ?? 3_600_000,
      stepMs: parsed.stepMs ?? 60_000,
    };
    const [buckets, totals] = await Promise.all([
      engine.buckets(windowStart(window)),
      engine.bucketTotals(),
    ]);
    return buildHistory(buckets, totals, window);
  }

  /**
   * Closes the queue. Tasks stay in the file; running ones come back after their lease if they are
   * not completed by another connection. Calling it again does nothing.
   *
   * @example Usage
   * ```ts
   * import { TaskQueue } from "@tasklite/tasklite";
   *
   * const queue = await TaskQueue.open(":memory:");
   * await queue.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#core.detach()?.close();
  }
}
