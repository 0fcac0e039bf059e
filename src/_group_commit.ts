/**
 * Group commit: the writes a queue issues in one turn of the event loop (enqueues, transitions,
 * claims) reach the engine as one {@linkcode Engine.batch}, so that they share one transaction and
 * one commit. A thousand `enqueue()` promises in flight, or a worker's finished tasks and the claim
 * for their free slots, cost one commit instead of one each. Each caller's promise settles only
 * after the commit; if the batch throws, its ops run again one by one, so that a failing op fails
 * alone.
 *
 * Every other call (reads, operator writes) first sends what is waiting, so that the engine sees
 * the queue's calls in the order they were made.
 *
 * @module
 */

import type { Bucket, BucketTotal } from "./core/buckets.ts";
import type { TaskFilter } from "./task_query.ts";
import type {
  BatchOp,
  BatchResult,
  ClaimRequest,
  ClaimResult,
  Engine,
  EnqueueResult,
  FiredSlot,
  Firing,
  KeyUsage,
  LiveCount,
  NewSchedule,
  NewTask,
  Outcome,
  RateWindow,
  RecoveryDecision,
  Schedule,
  Transition,
  TypeControl,
  TypeLimits,
  WorkerRecord,
} from "./engine.ts";
import { StorageError } from "./errors.ts";
import type { Notifier } from "./notifier.ts";
import type { QueueStats, Task, TaskStatus } from "./task.ts";

/**
 * How long the queue's writes may keep the event loop busy in microtasks before a batch waits for
 * a macrotask turn (timers, I/O, signals), in ms.
 */
const YIELD_AFTER_MS = 10;

/**
 * Runs `fn` in a later macrotask: `setImmediate` where the runtime has it (Deno, Bun, Node: no
 * clamping, timers and I/O go first), else `setTimeout` (which nested calls clamp to 1-4 ms).
 */
const nextTurn: (fn: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (fn) => void globalThis.setImmediate(fn)
  : (fn) => void setTimeout(fn, 0);

interface Waiting {
  readonly op: BatchOp;
  readonly resolve: (result: BatchResult<BatchOp>) => void;
  readonly reject: (error: unknown) => void;
}

/** An {@linkcode Engine} that groups the writes of one turn into one transaction of another. */
export class GroupCommit implements Engine {
  readonly #inner: Engine;
  #waiting: Waiting[] = [];
  #scheduled = false;
  /** Since when writes have run without a macrotask turn (`null`: one has passed). */
  #busySince: number | null = null;

  /**
   * @param inner The engine that runs the batches.
   */
  constructor(inner: Engine) {
    this.#inner = inner;
    if (inner.notifier) this.notifier = inner.notifier;
    // A caller's transaction is theirs to commit: its enqueues go straight to the engine.
    if (inner.enqueueWithin) this.enqueueWithin = inner.enqueueWithin.bind(inner);
    if (inner.whenCommitted) this.whenCommitted = inner.whenCommitted.bind(inner);
  }

  readonly notifier?: Notifier;
  readonly enqueueWithin?: NonNullable<Engine["enqueueWithin"]>;
  readonly whenCommitted?: NonNullable<Engine["whenCommitted"]>;

  get name(): string {
    return this.#inner.name;
  }

  enqueue(tasks: readonly NewTask[], now: number): Promise<EnqueueResult[]> {
    return this.#add({ kind: "enqueue", tasks, now }) as Promise<EnqueueResult[]>;
  }

  apply(transitions: readonly Transition[], now: number): Promise<Outcome[]> {
    return this.#add({ kind: "apply", transitions, now }) as Promise<Outcome[]>;
  }

  dequeue(request: ClaimRequest): Promise<ClaimResult> {
    return this.#add({ kind: "dequeue", request }) as Promise<ClaimResult>;
  }

  batch(ops: readonly BatchOp[]): Promise<BatchResult<BatchOp>[]> {
    return this.#flushed(() => this.#inner.batch(ops));
  }

  #add(op: BatchOp): Promise<BatchResult<BatchOp>> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ op, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      if (this.#mustYield()) nextTurn(() => this.#flush());
      else queueMicrotask(() => this.#flush());
    });
  }

  /** Whether writes have held the event loop for too long without a macrotask turn. */
  #mustYield(): boolean {
    const now = performance.now();
    if (this.#busySince === null) {
      this.#busySince = now;
      nextTurn(() => (this.#busySince = null));
      return false;
    }
    return now - this.#busySince > YIELD_AFTER_MS;
  }

  /** Sends what is waiting: one op as itself, several as one batch. */
  #flush(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    if (waiting.length === 1) return this.#alone(waiting[0]!);
    const groups = mergeClaims(waiting);
    this.#inner.batch(groups.map((group) => group.op)).then(
      (results) => groups.forEach((group, i) => group.settle(results[i]!)),
      // Nothing committed: each op again on its own, so that only a failing one fails; but a
      // storage condition (a lock held past busyTimeoutMs, a full disk) fails them all: each
      // op alone would only meet it again.
      (error) =>
        error instanceof StorageError
          ? waiting.forEach((item) => item.reject(error))
          : waiting.forEach((item) => this.#alone(item)),
    );
  }

  #alone({ op, resolve, reject }: Waiting): void {
    const result: Promise<BatchResult<BatchOp>> = op.kind === "enqueue"
      ? this.#inner.enqueue(op.tasks, op.now)
      : op.kind === "apply"
      ? this.#inner.apply(op.transitions, op.now)
      : this.#inner.dequeue(op.request);
    result.then(resolve, reject);
  }

  /** Runs `fn` after sending the writes that are waiting, so that it sees them. */
  #flushed<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#waiting.length > 0) this.#flush();
    return fn();
  }

  cancelRequested(ids: readonly number[]): Promise<number[]> {
    return this.#flushed(() => this.#inner.cancelRequested(ids));
  }

  failedIds(taskType: string | null, limit: number): Promise<number[]> {
    return this.#flushed(() => this.#inner.failedIds(taskType, limit));
  }

  recover(now: number, decide: RecoveryDecision): Promise<Task[]> {
    return this.#flushed(() => this.#inner.recover(now, decide));
  }

  prune(before: number, statuses: readonly TaskStatus[], limit: number): Promise<number> {
    return this.#flushed(() => this.#inner.prune(before, statuses, limit));
  }

  buckets(since: number): Promise<Bucket[]> {
    return this.#flushed(() => this.#inner.buckets(since));
  }

  bucketTotals(): Promise<BucketTotal[]> {
    return this.#flushed(() => this.#inner.bucketTotals());
  }

  sampleBacklog(minute: number, counts: readonly LiveCount[]): Promise<void> {
    return this.#flushed(() => this.#inner.sampleBacklog(minute, counts));
  }

  pruneBuckets(before: number): Promise<number> {
    return this.#flushed(() => this.#inner.pruneBuckets(before));
  }

  get(id: number): Promise<Task | null> {
    return this.#flushed(() => this.#inner.get(id));
  }

  stats(): Promise<QueueStats> {
    return this.#flushed(() => this.#inner.stats());
  }

  liveCounts(): Promise<LiveCount[]> {
    return this.#flushed(() => this.#inner.liveCounts());
  }

  list(status: TaskStatus, limit: number, offset: number, filter: TaskFilter): Promise<Task[]> {
    return this.#flushed(() => this.#inner.list(status, limit, offset, filter));
  }

  keyUsage(taskType: string, concurrencyKey: string, now: number): Promise<KeyUsage> {
    return this.#flushed(() => this.#inner.keyUsage(taskType, concurrencyKey, now));
  }

  controls(): Promise<TypeControl[]> {
    return this.#flushed(() => this.#inner.controls());
  }

  setPaused(taskType: string, pausedAt: number | null): Promise<void> {
    return this.#flushed(() => this.#inner.setPaused(taskType, pausedAt));
  }

  setLimits(taskType: string, limits: TypeLimits): Promise<void> {
    return this.#flushed(() => this.#inner.setLimits(taskType, limits));
  }

  upsertSchedule(schedule: NewSchedule, now: number): Promise<Schedule> {
    return this.#flushed(() => this.#inner.upsertSchedule(schedule, now));
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#flushed(() => this.#inner.deleteSchedule(name));
  }

  schedules(): Promise<Schedule[]> {
    return this.#flushed(() => this.#inner.schedules());
  }

  dueSchedules(now: number): Promise<Schedule[]> {
    return this.#flushed(() => this.#inner.dueSchedules(now));
  }

  fireSchedules(firings: readonly Firing[], now: number): Promise<FiredSlot[]> {
    return this.#flushed(() => this.#inner.fireSchedules(firings, now));
  }

  upsertWorker(worker: WorkerRecord): Promise<void> {
    return this.#flushed(() => this.#inner.upsertWorker(worker));
  }

  removeWorker(id: string): Promise<boolean> {
    return this.#flushed(() => this.#inner.removeWorker(id));
  }

  workers(): Promise<WorkerRecord[]> {
    return this.#flushed(() => this.#inner.workers());
  }

  expireWorkers(ids: readonly string[], now: number, forgetBefore: number): Promise<number> {
    return this.#flushed(() => this.#inner.expireWorkers(ids, now, forgetBefore));
  }

  runningIds(taskType: string, limit: number): Promise<number[]> {
    return this.#flushed(() => this.#inner.runningIds(taskType, limit));
  }

  rateWindows(now: number): Promise<RateWindow[]> {
    return this.#flushed(() => this.#inner.rateWindows(now));
  }

  nextWakeAt(): Promise<number | null> {
    return this.#flushed(() => this.#inner.nextWakeAt());
  }

  latestWriteAt(): Promise<number | null> {
    return this.#flushed(() => this.#inner.latestWriteAt());
  }

  close(): Promise<void> {
    return this.#flushed(() => this.#inner.close());
  }
}

/** One op of a batch and how its result reaches the callers behind it. */
interface Group {
  readonly op: BatchOp;
  settle(result: BatchResult<BatchOp>): void;
}

/**
 * The batch in the order the engine runs it: every other op as issued, then the claims, those
 * with the same worker, lease and task types as one claim of their summed limit (one statement
 * instead of one each; a worker's finished runs each claim for their own slot). Claims go last so
 * that they see the slots and tasks the batch's completions and releases just freed: a claim made
 * a moment later. Each claim's tasks are dealt out in claim order, and the tasks it recovered go
 * to its first caller.
 */
function mergeClaims(waiting: readonly Waiting[]): Group[] {
  const groups: Group[] = [];
  const claims: { request: ClaimRequest; members: Waiting[] }[] = [];
  for (const item of waiting) {
    if (item.op.kind !== "dequeue") {
      groups.push({ op: item.op, settle: item.resolve });
      continue;
    }
    const request = item.op.request;
    const same = claims.find((claim) => sameClaim(claim.request, request));
    if (same) same.members.push(item);
    else claims.push({ request, members: [item] });
  }
  for (const { request, members } of claims) {
    const limit = members.reduce((sum, member) => sum + requestOf(member).limit, 0);
    groups.push({
      op: { kind: "dequeue", request: { ...request, limit } },
      settle(result) {
        const { tasks, recovered } = result as ClaimResult;
        let from = 0;
        members.forEach((member, i) => {
          const take = requestOf(member).limit;
          member.resolve({ tasks: tasks.slice(from, from + take), recovered: i ? [] : recovered });
          from += take;
        });
      },
    });
  }
  return groups;
}

function requestOf(item: Waiting): ClaimRequest {
  return (item.op as BatchOp & { kind: "dequeue" }).request;
}

function sameClaim(a: ClaimRequest, b: ClaimRequest): boolean {
  return a.workerId === b.workerId && a.leaseMs === b.leaseMs &&
    (a.taskTypes === b.taskTypes ||
      (a.taskTypes !== null && b.taskTypes !== null &&
        a.taskTypes.join("\u0000") === b.taskTypes.join("\u0000")));
}
