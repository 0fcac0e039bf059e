/**
 * {@linkcode AlarmWorker}: a {@linkcode Worker} driven by a one-shot alarm instead of a loop, for
 * hosts that allow no long-running process: a Cloudflare Durable Object (`ctx.storage.setAlarm`,
 * its `alarm()` handler), or any timer that can call back once. After every change that can make
 * a task due sooner it sets the alarm to the queue's {@linkcode TaskQueue.nextWakeAt} (the next due
 * task, lease expiry or schedule slot); {@linkcode AlarmWorker.alarm} runs what is due within a
 * time budget and sets the next one.
 *
 * @module
 */

import { Worker } from "./worker.ts";
import type { WorkerOptions } from "./worker_options.ts";
import type { TaskQueue } from "./queue.ts";

/**
 * Where an {@linkcode AlarmWorker} keeps its one alarm: a Durable Object's `ctx.storage` has this
 * shape, and so can any timer.
 */
export interface AlarmStorage {
  /** The alarm's time (epoch ms), or `null` when none is set. */
  getAlarm(): Promise<number | null>;
  /** Sets the one alarm (replacing any earlier one) to fire at `scheduledTime` (epoch ms). */
  setAlarm(scheduledTime: number): Promise<void> | void;
  /** Removes the alarm. */
  deleteAlarm(): Promise<void> | void;
}

/** How an {@linkcode AlarmWorker} runs: a worker's options, plus its alarm. */
export interface AlarmWorkerOptions extends WorkerOptions {
  /** Where the alarm is kept: a Durable Object's `ctx.storage`. */
  alarms: AlarmStorage;
  /**
   * How long one {@linkcode AlarmWorker.alarm} claims tasks. When it runs out with tasks still due,
   * the next alarm is set for now, so the work goes on in a new invocation (a Durable Object's
   * alarm gets its own CPU time each time).
   *
   * @default {10_000}
   */
  budgetMs?: number;
  /**
   * Once the budget is spent, how long the handlers still running may take before they are
   * aborted and their tasks given back (due again at once).
   *
   * @default {5_000}
   */
  graceMs?: number;
  /**
   * Tasks can be due that this worker cannot claim (their type is paused or at its limit, or it
   * has no handler for them). Then the next alarm waits, doubling from 1 s up to this long, instead
   * of firing again at once; an enqueue or redrive of a task this worker runs, or a call of
   * {@linkcode AlarmWorker.arm}, ends the wait.
   *
   * @default {60_000}
   */
  maxIdleMs?: number;
}

/** What one {@linkcode AlarmWorker.alarm} did. */
export interface AlarmRun {
  /** How many tasks it claimed and ran. */
  ran: number;
  /** Whether the budget ran out before nothing was due. */
  exhausted: boolean;
  /** When the next alarm is set for (epoch ms), or `null` when nothing is due ever. */
  nextAlarmAt: number | null;
}

/** The events after which a task may be due sooner than the alarm: it is armed again. */
const ARMING_EVENTS = ["enqueued", "retried", "failed"] as const;

/** The first wait of an idle alarm (see `maxIdleMs`). */
const FIRST_IDLE_MS = 1000;

/**
 * Runs a queue's tasks from an alarm: each {@linkcode AlarmWorker.alarm} call runs the worker until
 * nothing is due (like {@linkcode Worker.tick}) or `budgetMs` has passed, then the alarm is set for the next due task, lease
 * expiry or schedule slot. Enqueues, redrives and retries in this process arm it too (once per
 * turn); other changes that can make a task due sooner (a schedule added, a type resumed, a limit
 * raised) call {@linkcode AlarmWorker.arm}. The alarm is a hint like a notification: the queue's
 * rows stay the truth, so a missed or early alarm only costs time.
 *
 * @example In a Cloudflare Durable Object
 * ```ts ignore
 * import { DurableObject } from "cloudflare:workers";
 * import { AlarmWorker, TaskQueue } from "@tasklite/tasklite";
 *
 * export class QueueObject extends DurableObject {
 *   queue!: TaskQueue;
 *   worker!: AlarmWorker;
 *   constructor(ctx: DurableObjectState, env: unknown) {
 *     super(ctx, env);
 *     ctx.blockConcurrencyWhile(async () => {
 *       this.queue = await TaskQueue.open({ database: ctx.storage });
 *       this.worker = new AlarmWorker(this.queue, {
 *         alarms: ctx.storage,
 *         handlers: { echo: (payload) => payload },
 *       });
 *       await this.worker.arm();
 *     });
 *   }
 *   async alarm() {
 *     await this.worker.alarm();
 *   }
 * }
 * ```
 *
 * @example With any one-shot timer
 * ```ts
 * import { AlarmWorker, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * let alarmAt: number | null = null;
 * const worker = new AlarmWorker(queue, {
 *   alarms: {
 *     getAlarm: () => Promise.resolve(alarmAt),
 *     setAlarm: (at) => void (alarmAt = at),
 *     deleteAlarm: () => void (alarmAt = null),
 *   },
 *   handlers: { echo: (payload) => payload },
 * });
 * await queue.enqueue({ name: "Hello", taskType: "echo", payload: "hi" });
 * await worker.armed();
 * console.log(alarmAt !== null); // true
 * const run = await worker.alarm();
 * console.log(run.ran, run.nextAlarmAt); // 1 null
 * worker.close();
 * await queue.close();
 * ```
 */
export class AlarmWorker {
  /** The worker that runs the tasks (its id, `running`, `onIdle()`). */
  readonly worker: Worker;
  readonly #queue: TaskQueue;
  readonly #alarms: AlarmStorage;
  readonly #budgetMs: number;
  readonly #graceMs: number;
  readonly #maxIdleMs: number;
  /** While due tasks cannot be claimed: the current wait, and no alarm before `#idleUntil`. */
  #idleMs = 0;
  #idleUntil = 0;
  /** The `alarm()` in progress: it arms when it ends, so events meanwhile do not. */
  #running: Promise<AlarmRun> | null = null;
  /** The `arm()` an event asked for, once per turn. */
  #pending: Promise<number | null> | null = null;
  readonly #unlisten: (() => void)[];

  /**
   * Creates the worker and listens to the queue's events; it claims nothing until
   * {@linkcode AlarmWorker.alarm}.
   *
   * @param queue The queue (in this process: its events arm the alarm).
   * @param options Handlers, worker tuning, the alarm storage and the budget.
   * @throws {TypeError} `alarms` lacks `getAlarm`, `setAlarm` or `deleteAlarm`.
   * @throws {RangeError} `budgetMs`, `graceMs` or `maxIdleMs` is not a positive number.
   */
  constructor(queue: TaskQueue, options: AlarmWorkerOptions) {
    const { alarms, budgetMs = 10_000, graceMs = 5_000, maxIdleMs = 60_000, ...rest } = options;
    for (const name of ["getAlarm", "setAlarm", "deleteAlarm"] as const) {
      if (typeof alarms?.[name] !== "function") {
        throw new TypeError(`Invalid alarm worker options: alarms.${name} must be a function`);
      }
    }
    for (const [name, value] of Object.entries({ budgetMs, graceMs, maxIdleMs })) {
      if (typeof value !== "number" || !(value > 0)) {
        throw new RangeError(`Invalid alarm worker options: ${name} must be a positive number`);
      }
    }
    this.worker = new Worker(queue, rest);
    this.#queue = queue;
    this.#alarms = alarms;
    this.#budgetMs = budgetMs;
    this.#graceMs = graceMs;
    this.#maxIdleMs = maxIdleMs;
    const types = rest.taskTypes ?? Object.keys(rest.handlers);
    const runs = (type: string) => types === "*" || types.includes(type);
    this.#unlisten = ARMING_EVENTS.map((event) =>
      queue.on(event, (e: { taskType?: string; task?: { taskType: string } }) => {
        this.#armSoon(runs(e.taskType ?? e.task?.taskType ?? ""));
      })
    );
  }

  /**
   * Runs what is due for at most `budgetMs` (due schedules first, then tasks, `concurrency` at a
   * time), waits for the handlers still running (up to `graceMs`), and sets the next alarm. Call
   * it from the host's alarm handler. A call while one runs returns that one's result.
   *
   * @returns What it ran, and when the next alarm is.
   */
  alarm(): Promise<AlarmRun> {
    this.#running ??= this.#alarm().finally(() => this.#running = null);
    return this.#running;
  }

  /**
   * Sets the alarm for the next due task, lease expiry or schedule slot (no earlier than the idle
   * wait while due tasks cannot be claimed), or removes it when nothing is due. Call it after a
   * change the queue has no event for: a schedule added, a type resumed, a limit raised.
   *
   * @returns When the alarm is set for, or `null`.
   */
  async arm(): Promise<number | null> {
    this.#idleUntil = 0;
    return await this.#arm();
  }

  /**
   * Resolves once the arming that the latest events asked for is done (for tests and for hosts
   * that must not return before the alarm is stored).
   *
   * @returns When the alarm is set for, or `null`.
   */
  async armed(): Promise<number | null> {
    if (this.#running) return (await this.#running).nextAlarmAt;
    return await (this.#pending ?? this.#arm());
  }

  /** Stops listening to the queue's events (the alarm stays set). */
  close(): void {
    for (const unlisten of this.#unlisten) unlisten();
    this.#unlisten.length = 0;
  }

  async #alarm(): Promise<AlarmRun> {
    const clock = this.#queue.clock;
    const { worker } = this;
    let ran = 0;
    const unlisten = this.#queue.on("started", ({ task }) => {
      if (task.workerId === worker.id) ran++;
    });
    const budget = new AbortController();
    let exhausted = false;
    try {
      // Started rather than ticked: a stop() then gives the handlers their grace, and a finished
      // task's slot is refilled in the same turn.
      worker.start();
      await Promise.race([
        worker.onIdle(),
        clock.sleep(this.#budgetMs, budget.signal).then(() => exhausted = !budget.signal.aborted),
      ]);
    } finally {
      budget.abort();
      await worker.stop({ timeoutMs: this.#graceMs });
      unlisten();
    }
    const next = await this.#queue.nextWakeAt();
    const now = clock.now();
    if (next !== null && next <= now && !exhausted && ran === 0) {
      // Due, yet nothing could be claimed: wait, longer each time, for a change to arm it.
      this.#idleMs = Math.min(this.#maxIdleMs, this.#idleMs ? this.#idleMs * 2 : FIRST_IDLE_MS);
      this.#idleUntil = now + this.#idleMs;
    } else {
      this.#idleMs = 0;
      this.#idleUntil = 0;
    }
    return { ran, exhausted, nextAlarmAt: await this.#set(next) };
  }

  /** Arms once this turn is over; a task of a type it runs ends the idle wait. */
  #armSoon(ours: boolean): void {
    if (ours) this.#idleUntil = 0;
    if (this.#running || this.#pending) return;
    this.#pending = Promise.resolve()
      .then(() => this.#arm())
      .catch((error) => {
        this.#queue.logger.error("Cannot set the alarm", { error: String(error) });
        return null;
      })
      .finally(() => this.#pending = null);
  }

  async #arm(): Promise<number | null> {
    return await this.#set(await this.#queue.nextWakeAt());
  }

  /** Stores the alarm for `next` (not before now, nor the idle wait); none when nothing is due. */
  async #set(next: number | null): Promise<number | null> {
    if (next === null) {
      if (await this.#alarms.getAlarm() !== null) await this.#alarms.deleteAlarm();
      return null;
    }
    const at = Math.max(next, this.#queue.clock.now(), this.#idleUntil);
    if (await this.#alarms.getAlarm() !== at) await this.#alarms.setAlarm(at);
    return at;
  }
}
