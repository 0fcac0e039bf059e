/**
 * {@linkcode Worker}: runs handlers for claimed tasks, `concurrency` at a time, as a polling loop
 * ({@linkcode Worker.start}) or one pass at a time ({@linkcode Worker.tick}, for `Deno.cron` and
 * serverless). It heartbeats leases, enforces timeouts, aborts cancelled tasks, applies retry
 * policies and shuts down gracefully. Every wait is on one clock (the queue's, unless the worker
 * gets its own), and an idle worker wakes as soon as its queue's notifier says a task is ready.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { Task } from "./task.ts";
import { concerns, WakeableSleep } from "./_wake.ts";
import {
  abortRun,
  executeRun,
  heartbeatRun,
  newRun,
  type Run,
  type RunEnv,
  timeoutMessage,
} from "./worker/_run.ts";
import { isIsolated } from "./worker/_isolated.ts";
import {
  allRecorded,
  allSettled,
  busyRuns,
  checkCancellations,
  handlingRuns,
  isBlocked,
  overdueRuns,
  unrecordedRuns,
} from "./worker/_run_set.ts";
import { RunTimers } from "./worker/_timers.ts";
import { type ProcessIdentity, processIdentity } from "./worker/_identity.ts";
import { type WorkerSettings, workerSettings } from "./worker/_settings.ts";
import type { DequeueOptions } from "./queue_options.ts";
import type { StopOptions, WorkerOptions, WorkerQueue } from "./worker_options.ts";

export * from "./worker_options.ts";

type State = "idle" | "running" | "stopping";

/** The shortest interval between two beats in the worker registry. */
const MIN_BEAT_MS = 1000;

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
  readonly #settings: WorkerSettings;
  readonly #clock: Clock;
  readonly #env: RunEnv;
  /**
   * Its runs, one per claim (a task claimed again is a new run): from the claim until its outcome
   * is recorded and its handler has settled.
   */
  readonly #runs = new Set<Run>();
  /** Heartbeats and timeouts of the runs: one timer loop. */
  readonly #timers: RunTimers;
  /** The poll sleep: a finished task, a notification, `onIdle()` or `stop()` ends it. */
  readonly #poll: WakeableSleep;
  #state: State = "idle";
  #loop: Promise<number> | null = null;
  #claims: AbortController = new AbortController();
  #unlisten: (() => void) | null = null;
  #polls = 0;
  /** What the worker claims: its task types, lease and name. */
  readonly #claim: DequeueOptions;
  /** Slots held by claims in flight. */
  #reserved = 0;
  /** Whether a finished run claims for its slot at once (a started worker, not a `tick()`). */
  #refilling = false;
  /** Those claims, for `stop()` to wait for. */
  readonly #refills = new Set<Promise<void>>();
  /** Prefetched runs, claimed and heartbeated, waiting for a slot (oldest first). */
  #waiting: Run[] = [];
  /** Whether `#startWaiting` is on the stack (a synchronous handler frees its slot inside it). */
  #starting = false;
  #idleWaiters: { after: number; resolve: () => void }[] = [];
  /** This process's identity, for the worker registry (read once, at the first start). */
  #identity: Promise<ProcessIdentity> | null = null;
  /** When the worker started, and whether it is registered. */
  #startedAt = 0;
  #registered = false;

  /** How often it beats in the registry: once per poll, at most once a second. */
  get #beatIntervalMs(): number {
    return Math.max(this.#settings.pollIntervalMs, MIN_BEAT_MS);
  }

  /**
   * Creates a worker; it does nothing until {@linkcode Worker.start} or {@linkcode Worker.tick}.
   *
   * @param queue The queue to claim from: a {@linkcode TaskQueue}, or any {@linkcode WorkerQueue}.
   * @param options Handlers and tuning.
   */
  constructor(queue: WorkerQueue, options: WorkerOptions) {
    const settings = workerSettings(queue, options);
    this.id = settings.id;
    this.#queue = queue;
    this.#settings = settings;
    this.#clock = settings.clock;
    this.#env = {
      queue,
      workerId: settings.id,
      handlers: settings.handlers,
      onDeadLetter: settings.onDeadLetter,
      onError: settings.onError,
      clock: settings.clock,
      freed: () => this.#refill(),
    };
    this.#timers = new RunTimers(settings.clock, this.#runs, {
      beat: (run) => heartbeatRun(run, this.#env),
      timeout: (run) => this.#timeout(run),
    });
    this.#poll = new WakeableSleep(settings.clock);
    const { taskTypes, leaseMs } = settings;
    this.#claim = {
      ...(taskTypes ? { taskTypes } : {}),
      ...(leaseMs ? { leaseMs } : {}),
      workerId: this.id,
    };
  }

  /**
   * How many handlers are running now: prefetched tasks waiting for a slot are not counted; a
   * handler whose attempt already ended (timeout, cancel, lost lease) but which has not returned
   * yet is, as it still holds its slot.
   */
  get running(): number {
    return handlingRuns(this.#runs);
  }

  /**
   * Starts polling: claims due tasks into free slots, and waits `pollIntervalMs` when none is due
   * (or until the queue's notifier announces a task of its types). Calling it while started does
   * nothing.
   */
  start(): void {
    if (this.#state === "running") return;
    if (this.#state === "stopping") throw new Error("Cannot start the worker: it is stopping");
    this.#state = "running";
    this.#refilling = true;
    this.#claims = new AbortController();
    this.#startedAt = this.#clock.now();
    if (this.#queue.registerWorker) this.#identity ??= processIdentity();
    this.#unlisten = this.#queue.notifier?.listen((types) => {
      // Only a free slot can take a task: a full worker is woken by the next one that finishes.
      if (this.#free() > 0 && concerns(types, this.#settings.wanted)) {
        this.#poll.wake();
      }
    }) ?? null;
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
    this.#refilling = false;
    this.#unlisten?.();
    this.#unlisten = null;
    this.#claims.abort(); // a claim in flight (a remote long poll) ends now
    this.#poll.wake();
    await this.#loop;
    await Promise.all(this.#refills);
    await this.#releaseWaiting();
    if (this.#runs.size > 0 && Number.isFinite(timeoutMs)) {
      const grace = new AbortController();
      await Promise.race([allSettled(this.#runs), this.#clock.sleep(timeoutMs, grace.signal)]);
      grace.abort();
      for (const run of this.#runs) abortRun(run, "shutdown", "The worker is shutting down");
      // Their leases are given back; a handler that ignores its abort is not waited for, but an
      // isolated one is, as its thread is being terminated.
      await allRecorded(this.#runs);
      await Promise.all([...this.#runs].filter((run) => this.#isolated(run)).map((r) => r.handled));
      const stuck = [...this.#runs].filter((run) => !run.settled).map((run) => run.task.id);
      if (stuck.length > 0) {
        this.#queue.logger.warn(
          "Worker stopped while handlers that ignored their abort still run",
          {
            workerId: this.id,
            taskIds: stuck,
          },
        );
      }
    }
    await (Number.isFinite(timeoutMs) ? allRecorded(this.#runs) : allSettled(this.#runs));
    this.#timers.halt();
    if (this.#registered) {
      this.#registered = false;
      await this.#guard(async () => await this.#queue.deregisterWorker?.(this.id));
    }
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
    if (this.#state !== "running") return allSettled(this.#runs).then(() => {});
    return new Promise((resolve) => {
      this.#idleWaiters.push({ after: this.#polls, resolve });
      this.#poll.wake();
    });
  }

  /** The claim loop; in `once` mode it returns when nothing is due and nothing runs. */
  async #run(once: boolean): Promise<number> {
    const { pollIntervalMs, maintenance } = this.#settings;
    let ran = 0;
    let maintainedAt = -Infinity;
    let checkedAt = -Infinity;
    let beatAt = -Infinity;
    while (this.#state === "running") {
      const poll = ++this.#polls;
      // The registry's beat, once per beat interval, before the claim (a started worker only).
      if (!once && this.#identity && this.#clock.now() - beatAt >= this.#beatIntervalMs) {
        beatAt = this.#clock.now();
        await this.#guard(() => this.#register());
        if (this.#state !== "running") break; // stop() began meanwhile (a refused token)
      }
      if (maintenance && this.#clock.now() - maintainedAt >= pollIntervalMs) {
        maintainedAt = this.#clock.now();
        await this.#guard(() => this.#queue.maintain());
      }
      // Cancel marks, once per poll interval (heartbeats see them too).
      if (this.#runs.size > 0 && this.#clock.now() - checkedAt >= pollIntervalMs) {
        checkedAt = this.#clock.now();
        await this.#guard(() => checkCancellations(this.#runs, this.#queue));
      }
      // A lease about to run out is extended before the claim, whose recovery would take it back.
      const overdue = overdueRuns(this.#runs, this.#clock.now());
      if (overdue.length > 0) await Promise.all(overdue.map((run) => heartbeatRun(run, this.#env)));
      const free = this.#free();
      let claimed: Task[] = [];
      if (free > 0) {
        this.#reserved += free;
        const tasks = await this.#guard(() =>
          this.#queue.dequeueMany(free, this.#claim, { signal: this.#claims.signal, wait: !once })
        );
        this.#reserved -= free;
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
      if (claimed.length === 0 && unrecordedRuns(this.#runs) === 0 && this.#refills.size > 0) {
        // A refill claim in flight may bring tasks: idle only once it has come back empty.
        await Promise.all(this.#refills);
        if (unrecordedRuns(this.#runs) > 0) continue;
      }
      if (claimed.length === 0 && unrecordedRuns(this.#runs) === 0) {
        this.#setIdle(poll);
        this.#timers.halt();
        if (once) break;
      }
      if (claimed.length === 0 || this.#free() <= 0) await this.#poll.sleep(pollIntervalMs);
    }
    if (once) {
      await allRecorded(this.#runs);
      this.#timers.halt();
    }
    this.#poll.close();
    return ran;
  }

  /**
   * How many more tasks to claim: slots (and prefetch places) neither running a handler (even
   * one whose attempt has ended), nor taken by a prefetched run, nor held by a claim in flight.
   */
  #free(): number {
    const busy = this.#reserved + busyRuns(this.#runs);
    return this.#settings.concurrency + this.#settings.prefetch - busy;
  }

  /** Starts prefetched runs while slots are free (not once `stop()` began: it gives them back). */
  #startWaiting(): void {
    if (this.#starting || this.#state !== "running") return; // below us, the loop continues
    this.#starting = true;
    try {
      for (let i = 0; i < this.#waiting.length;) {
        if (handlingRuns(this.#runs) >= this.#settings.concurrency) break;
        const run = this.#waiting[i]!;
        if (isBlocked(this.#runs, run)) {
          i++;
          continue;
        }
        this.#waiting.splice(i, 1);
        this.#start(run);
      }
    } finally {
      this.#starting = false;
    }
  }

  /**
   * A run's time limit passed: its signal aborts; one still waiting (behind an earlier run of the
   * same task) starts now, which fails it without calling its handler.
   */
  #timeout(run: Run): void {
    if (run.over) {
      // Its attempt ended (a lost lease, a cancel) but its handler ignored the abort: past its
      // time limit, it no longer holds a slot.
      if (run.settled) return;
      this.#queue.logger.warn("Handler still running past its time limit; its slot is freed", {
        workerId: this.id,
        taskId: run.task.id,
      });
      run.markSettled();
      return this.#refill();
    }
    abortRun(run, "timeout", timeoutMessage(run, this.#isolated(run)));
    const index = this.#waiting.indexOf(run);
    if (index >= 0 && this.#state === "running") {
      this.#waiting.splice(index, 1);
      this.#start(run);
    }
  }

  /** Whether a run's handler is an isolated one (a thread that its abort terminates). */
  #isolated(run: Run): boolean {
    return isIsolated(this.#settings.handlers.get(run.task.taskType)?.handler);
  }

  /** Gives back the prefetched runs that never started (the worker is stopping). */
  async #releaseWaiting(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const run of waiting) {
      run.over = true;
      run.markSettled();
      this.#runs.delete(run);
    }
    await Promise.all(waiting.map((run) => this.#guard(() => this.#queue.release(run.task))));
  }

  /**
   * Claims for the slots a finished run has just freed, in the turn its transition was issued, so
   * that the claim and the transition share one commit (group commit) and the slot does not wait
   * for the poll loop.
   */
  #refill(): void {
    this.#startWaiting();
    if (!this.#refilling || this.#state !== "running") return;
    const free = this.#free();
    if (free <= 0) return;
    if (overdueRuns(this.#runs, this.#clock.now()).length > 0) {
      this.#poll.wake(); // the loop extends those leases first, then claims
      return;
    }
    this.#reserved += free;
    const control = { signal: this.#claims.signal, wait: false };
    const refill = this.#guard(() => this.#queue.dequeueMany(free, this.#claim, control))
      .then(async (tasks = []) => {
        this.#reserved -= free;
        if (this.#state !== "running") {
          await Promise.all(tasks.map((task) => this.#guard(() => this.#queue.release(task))));
          return;
        }
        for (const task of tasks) this.#launch(task);
      });
    this.#refills.add(refill);
    void refill.finally(() => this.#refills.delete(refill));
  }

  /** Registers the worker, or beats: the same registration again, stamped by the queue. */
  async #register(): Promise<void> {
    const identity = await this.#identity!;
    if (this.#state !== "running") return;
    const { taskTypes, concurrency } = this.#settings;
    await this.#queue.registerWorker!({
      id: this.id,
      ...identity,
      taskTypes: taskTypes ?? null,
      concurrency,
      startedAt: this.#startedAt,
      beatIntervalMs: this.#beatIntervalMs,
    });
    this.#registered = true;
  }

  /** Runs a queue call; reports and swallows its error (returns `undefined`). */
  async #guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      // A claim aborted by stop() is not an error.
      if (!this.#claims.signal.aborted) this.#settings.onError(error, null);
      return undefined;
    }
  }

  /** A claimed task: it starts now if a slot is free, else it waits (prefetched), heartbeated. */
  #launch(task: Task): void {
    const definition = this.#settings.handlers.get(task.taskType);
    const { heartbeatIntervalMs, maxRunMs } = this.#settings;
    const run = newRun(task, definition, heartbeatIntervalMs, maxRunMs);
    // Claimed again while an earlier run's handler still runs here (its lease was lost): it waits
    // for that handler, its time limit counting from now, so that a task never runs twice at once.
    const blocked = isBlocked(this.#runs, run);
    this.#runs.add(run);
    if (
      !blocked && handlingRuns(this.#runs) < this.#settings.concurrency &&
      this.#waiting.length === 0
    ) {
      return this.#start(run);
    }
    if (!blocked) run.untilTimeout = Infinity; // its time limit counts from its start
    this.#waiting.push(run);
    this.#timers.add(run);
  }

  #start(run: Run): void {
    if (run.untilTimeout === Infinity) run.untilTimeout = run.timeoutMs ?? Infinity;
    this.#timers.add(run);
    run.done = executeRun(run, this.#env).then(() => {
      run.recorded = true;
      if (run.settled) return this.#remove(run);
      this.#poll.wake(); // a loop waiting for this outcome (a tick()) goes on
      void run.handled.then(() => this.#remove(run));
    });
  }

  /** A run is over and its handler has settled: it leaves the worker. */
  #remove(run: Run): void {
    this.#runs.delete(run);
    this.#poll.wake();
  }

  /** Resolves the idle waiters registered before this poll started. */
  #setIdle(poll: number): void {
    const ready = this.#idleWaiters.filter((waiter) => waiter.after < poll);
    this.#idleWaiters = this.#idleWaiters.filter((waiter) => waiter.after >= poll);
    for (const waiter of ready) waiter.resolve();
  }
}
