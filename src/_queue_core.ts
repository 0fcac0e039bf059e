/**
 * What the two halves of {@linkcode TaskQueue} share (its lifecycle verbs in `queue.ts`, its
 * operator verbs in `queue_operations.ts`): the engine, the clock, the notifier, the emitter and
 * the announcements of failures. Kept off the public object, one per queue.
 *
 * @module
 */

import { type BackoffOptions, exponentialBackoff } from "./backoff.ts";
import { type Clock, toClock } from "./clock.ts";
import { type ClockSkew, ClockWatch } from "./_clock_watch.ts";
import { recoveryRetryAt } from "./core/recovery.ts";
import type { Engine, LeaseRef, RecoveryDecision } from "./engine.ts";
import { toRef } from "./_outcomes.ts";
import { Emitter } from "./_emitter.ts";
import { GroupCommit } from "./_group_commit.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { MetricsCollector } from "./metrics.ts";
import { LocalNotifier, type Notifier } from "./notifier.ts";
import type { QueueOptions, RetentionOptions, TaskRef } from "./queue_options.ts";
import { type Task, TaskStatus } from "./task.ts";

/** One queue's internals. */
export class QueueCore {
  #engine: Engine | null;
  /** The queue's clock. */
  readonly clock: Clock;
  /** The default lease. */
  readonly leaseMs: number;
  /** The queue's backoff curve. */
  readonly backoff: (retryCount: number) => number;
  /** In-process events. */
  readonly events: Emitter;
  /** Counters fed by the events. */
  readonly metrics: MetricsCollector;
  /** The retention policy, if any. */
  readonly retention: RetentionOptions | null;
  /** When retention last ran, on the queue's clock. */
  lastPruneAt = -Infinity;
  /** When upkeep last took a backlog sample, on the queue's clock. */
  lastSampleAt = -Infinity;
  /** When upkeep last pruned the history, on the queue's clock. */
  lastHistoryPruneAt = -Infinity;
  /** Where the queue logs. */
  readonly logger: Logger;
  /** Wakes idle workers. */
  readonly notifier: Notifier;
  /** The clock, read through the jump check. */
  readonly clockWatch: ClockWatch;

  constructor(engine: Engine, options: QueueOptions) {
    // The queue's writes of one turn share a commit (see `_group_commit.ts`).
    this.#engine = new GroupCommit(engine);
    this.clock = toClock(options.clock);
    this.leaseMs = options.leaseMs ?? 30_000;
    const backoff: BackoffOptions | ((retryCount: number) => number) | undefined = options.backoff;
    this.backoff = typeof backoff === "function" ? backoff : exponentialBackoff(backoff);
    this.logger = options.logger ?? silentLogger;
    this.notifier = options.notifier ?? engine.notifier ?? new LocalNotifier();
    this.retention = options.retention ?? null;
    this.events = new Emitter((error, event) =>
      this.logger.error(`A "${event}" listener threw`, { error: String(error) })
    );
    this.metrics = new MetricsCollector(this.events, this.clock.now());
    this.clockWatch = new ClockWatch(
      this.clock,
      options.clockToleranceMs ?? 60_000,
      (skew) => this.#clockSkew(skew),
    );
  }

  #clockSkew(skew: ClockSkew): void {
    const message = skew.kind === "jump"
      ? "The clock jumped: timestamps written since may be off for every process on the file"
      : "The clock is behind the database's other writers: clocks sharing a file must agree";
    this.logger.warn(message, { ...skew });
    this.events.emit("clock_skew", skew);
  }

  /**
   * What follows an expired lease: the core's decision (`recoveryRetryAt`). A stored policy that
   * throws or gives no finite time makes the task due at once, so that one bad row cannot stop
   * every claim.
   */
  readonly recovery: RecoveryDecision = (task, now) => {
    let at: number | null;
    try {
      at = recoveryRetryAt({ task, now });
    } catch (error) {
      at = Number.NaN;
      this.logger.warn("Recovering a lease", { taskId: task.id, error: String(error) });
    }
    return at === null || Number.isFinite(at) ? at : now;
  };

  /** Tasks this queue returned: see {@linkcode LeaseRef.known}. */
  readonly #issued = new WeakSet<object>();

  /**
   * Marks a task the queue returns still running (claimed, heartbeated, with progress), so that a
   * transition through it can reuse its fields. A finished or given-back task is not marked: no
   * fenced transition applies to it any more.
   */
  issue(task: Task): Task {
    this.#issued.add(task);
    return task;
  }

  /** A caller's task reference, validated; with the task itself when this queue returned it. */
  ref(task: TaskRef, what?: string): LeaseRef {
    const ref = toRef(task, what);
    if (typeof task === "object" && this.#issued.has(task)) ref.known = task as Task;
    return ref;
  }

  /** Now, on the queue's clock (a jump since the last read is reported). */
  now(): number {
    return this.clockWatch.now();
  }

  /** The engine, or a clear error once the queue is closed. */
  engine(action: string): Engine {
    if (!this.#engine) throw new Error(`Cannot ${action}: the queue is closed`);
    return this.#engine;
  }

  /** Takes the engine away (closing); `null` if it was gone already. */
  detach(): Engine | null {
    const engine = this.#engine;
    this.#engine = null;
    return engine;
  }

  /** Tells idle workers that these tasks may be ready now. */
  wake(tasks: readonly Pick<Task, "taskType" | "status" | "scheduledAt">[], now: number): void {
    const ready = tasks.filter((task) =>
      task.status === TaskStatus.PENDING && task.scheduledAt <= now
    );
    if (ready.length > 0) this.notifier.notify([...new Set(ready.map((task) => task.taskType))]);
  }

  /**
   * The log line and the event a failed attempt's outcome calls for: a retry at warn, a dead
   * letter at error (whoever ran it: a worker here, a remote one over HTTP, an expired lease).
   */
  announceFailure(task: Task, error: string): void {
    const fields = { taskId: task.id, taskType: task.taskType, attempts: task.attempts, error };
    if (task.status === TaskStatus.PENDING) {
      this.logger.warn("Task failed; it will be retried", { ...fields, retryAt: task.scheduledAt });
      this.events.emit("failed", { task, error });
    } else if (task.status === TaskStatus.FAILED) {
      this.logger.error("Task failed with no retries left (dead letter)", fields);
      this.events.emit("dead", { task, error });
    } else if (task.status === TaskStatus.CANCELLED) {
      this.events.emit("cancelled", { task });
    }
  }

  /** Logs and announces tasks whose lease expired (a retry or a dead letter logs as a failure). */
  announceRecovered(recovered: readonly Task[], now: number): void {
    for (const task of recovered) {
      if (task.status === TaskStatus.CANCELLED) {
        this.logger.warn("Lease expired", { taskId: task.id, status: task.status });
      }
      this.announceFailure(task, task.error ?? "Lease expired");
    }
    this.wake(recovered, now);
  }
}

const cores = new WeakMap<object, QueueCore>();

/** Attaches a queue's internals. */
export function attachCore(queue: object, core: QueueCore): void {
  cores.set(queue, core);
}

/** A queue's internals. */
export function coreOf(queue: object): QueueCore {
  return cores.get(queue)!;
}
