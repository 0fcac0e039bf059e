/**
 * The SQLite engine: each state transition is one small function around a prepared statement from
 * `_statements.ts`. Lists of transitions run in one transaction of the driver's own kind
 * (`BEGIN IMMEDIATE` on a file, `transactionSync` in a Durable Object); a lone single-statement
 * transition runs as its own statement. Every call goes through a `StorageGate`
 * (`_storage_gate.ts`): a binding's error leaves as a `StorageError`, a locked database is waited
 * for on timers.
 *
 * @module
 */

import {
  backlogRows,
  type Bucket,
  bucketItems,
  BucketTally,
  type BucketTotal,
} from "../core/buckets.ts";
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
  LeaseRef,
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
} from "../engine.ts";
import type { SqliteRow, SqliteStatement } from "../drivers/driver.ts";
import type { AdoptedDriver } from "../drivers/driver.ts";
import type { QueueStats, Task, TaskStatus } from "../task.ts";
import type { TaskFilter } from "../task_query.ts";
import { migrate } from "./_migrate.ts";
import { StorageGate } from "./_storage_gate.ts";
import {
  toBucket,
  toControl,
  toRateWindows,
  toSchedule,
  toTask,
  toWorker,
  withChanges,
  workerArgs,
} from "./_rows.ts";
import { claimTasks } from "./_claim.ts";
import { fireSchedules, setLimits, setPaused, upsertSchedule } from "./_controls.ts";
import { insertTasks } from "./_insert.ts";
import { recoverExpired } from "./_recover.ts";
import { toStorageError } from "../drivers/_storage_error.ts";
import {
  checkTransaction,
  COMMITTED_SQL,
  committedIds,
  savepoint,
  type StoredWithin,
  whenEnded,
} from "./_within.ts";
import { listQuery } from "./_list.ts";
import {
  type Args,
  type Compiled,
  insertRows,
  ROW_CHUNKS,
  type StatementKey,
  STATEMENTS,
  type Statements,
} from "./_statements.ts";

/** How the engine holds its connection. */
export interface SqliteEngineOptions {
  /** Whether {@linkcode SqliteEngine.close} closes the driver (false for a caller's handle). */
  ownsDriver: boolean;
  /** Now, epoch ms: recorded with the migrations applied at open. */
  now: number;
  /** How long a call may wait for another connection's lock in all, in ms. */
  busyTimeoutMs: number;
}

type Key = StatementKey;

type Completion = Transition & { kind: "complete" };
type EnqueueOp = BatchOp & { kind: "enqueue" };
type ApplyOp = BatchOp & { kind: "apply" };

/** The ops from `from` on that pass `test`, in a row. */
function runOf(ops: readonly BatchOp[], from: number, test: (op: BatchOp) => boolean): BatchOp[] {
  let end = from + 1;
  while (end < ops.length && test(ops[end]!)) end++;
  return ops.slice(from, end);
}

/** Deals the results of a run's merged statement back out, `sizes[i]` to its op `i`. */
function deal<T>(results: unknown[], sizes: readonly number[], merged: readonly T[]): void {
  let from = 0;
  for (const size of sizes) results.push(merged.slice(from, from += size));
}

function onlyCompletions(op: BatchOp): op is BatchOp & { kind: "apply" } {
  return op.kind === "apply" &&
    op.transitions.every((transition) => transition.kind === "complete");
}

/** Transitions that never move a task into or out of a finished status. */
const COUNTLESS: ReadonlySet<Transition["kind"]> = new Set([
  "heartbeat",
  "progress",
  "release",
  "promote",
]);

/** The {@linkcode Engine} over one SQLite connection. */
export class SqliteEngine implements Engine {
  /** `sqlite (<binding>)`. */
  readonly name: string;
  readonly #driver: AdoptedDriver;
  readonly #ownsDriver: boolean;
  /** Every call goes through it: storage errors mapped, a locked database waited for. */
  readonly #gate: StorageGate;
  readonly #transaction: <T>(fn: () => T) => T;
  readonly #statements: { [K in Key]: SqliteStatement };
  /** The multi-row inserts, by how many tasks they take. */
  readonly #rows: ReadonlyMap<number, SqliteStatement>;
  /** Changes to the finished counts in the current transaction, by status. */
  readonly #deltas = new Map<TaskStatus, number>();
  /** Whether a task stored in an application's transaction is there (prepared when used). */
  #committed: SqliteStatement | undefined;
  #closed = false;
  /** The filtered lists' statements, by shape (see `_list.ts`). */
  readonly #lists = new Map<string, { compiled: Compiled; statement: SqliteStatement }>();
  /** The attempts the current transaction ended, for the per-minute history. */
  readonly #tally = new BucketTally();

  private constructor(driver: AdoptedDriver, options: SqliteEngineOptions) {
    this.name = `sqlite (${driver.name})`;
    this.#driver = driver;
    this.#ownsDriver = options.ownsDriver;
    // On an application's handle, the queue's calls wait while its transaction is open.
    const shared = !options.ownsDriver && driver.inTransaction;
    this.#gate = new StorageGate(
      options.busyTimeoutMs,
      shared ? () => driver.inTransaction!() : undefined,
    );
    this.#transaction = (fn) => driver.transaction(fn);
    migrate(driver, options.now);
    const entries = Object.entries(STATEMENTS) as [Key, Compiled][];
    this.#statements = Object.fromEntries(
      entries.map(([key, compiled]) => [key, driver.prepare(compiled.sql)]),
    ) as { [K in Key]: SqliteStatement };
    this.#rows = new Map(
      [...ROW_CHUNKS, 1].map((size) => [size, driver.prepare(insertRows(size))]),
    );
  }

  /**
   * Applies pending migrations and prepares every statement. The driver comes configured.
   *
   * @param driver The connection.
   * @param options Whether the engine owns it, and the migration time.
   * @returns The engine.
   */
  static create(driver: AdoptedDriver, options: SqliteEngineOptions): SqliteEngine {
    return new SqliteEngine(driver, options);
  }

  /** The statements, for the helpers in `_claim.ts`, `_insert.ts` and `_controls.ts`. */
  readonly #run: Statements = {
    all: (key, args) => this.#all(key, args),
    get: (key, args) => this.#get(key, args),
    exec: (key, args) => this.#exec(key, args),
  };

  #all(key: Key, args: Args = {}): SqliteRow[] {
    return this.#statements[key].all(STATEMENTS[key].bind(args));
  }

  #get(key: Key, args: Args = {}): SqliteRow | undefined {
    return this.#statements[key].get(STATEMENTS[key].bind(args));
  }

  #exec(key: Key, args: Args = {}): number {
    return this.#statements[key].run(STATEMENTS[key].bind(args));
  }

  #tx<T>(fn: () => T): Promise<T> {
    return this.#gate.run(() => this.#transaction(() => this.#counting(fn)));
  }

  /**
   * Runs `fn`, then adds what it changed to the finished counts (`task_counts`), in the caller's
   * transaction. Counting in the engine rather than in triggers costs one statement per finished
   * status a batch touched instead of a trigger run per row. The attempts it ended go into the
   * per-minute history the same way: one upsert for the whole transaction.
   */
  #counting<T>(fn: () => T): T {
    this.#deltas.clear();
    this.#tally.take();
    const result = fn();
    for (const [status, delta] of this.#deltas) {
      if (delta !== 0) this.#exec("addCount", { status, delta });
    }
    this.#deltas.clear();
    if (!this.#tally.empty) {
      this.#exec("addBuckets", { items: bucketItems(this.#tally.take()) });
    }
    return result;
  }

  /** Counts a task that has just reached a status (`by` -1: has just left it). */
  #count(status: TaskStatus, by = 1): void {
    if (status === "pending" || status === "running") return;
    this.#deltas.set(status, (this.#deltas.get(status) ?? 0) + by);
  }

  /** A row an UPDATE returned: counted in its new status, and decoded. */
  #counted = (row: SqliteRow): Task => {
    const task = toTask(row);
    this.#count(task.status);
    return task;
  };

  enqueue(tasks: readonly NewTask[], now: number): Promise<EnqueueResult[]> {
    const insert = () => this.#enqueue(tasks, now);
    // One keyless task is one statement: atomic without an explicit transaction.
    if (tasks.length === 1 && tasks[0]!.uniqueKey === null) return this.#gate.run(insert);
    return this.#tx(insert);
  }

  /** Inserts in a SAVEPOINT of the application's open transaction, synchronously (`_within.ts`). */
  enqueueWithin(
    transaction: unknown,
    tasks: readonly NewTask[],
    now: number,
  ): Promise<EnqueueResult[]> {
    try {
      checkTransaction(transaction, this.#driver, this.name);
      return Promise.resolve(savepoint(this.#driver, () => this.#enqueue(tasks, now)));
    } catch (error) {
      return Promise.reject(toStorageError(error));
    }
  }

  whenCommitted(stored: readonly StoredWithin[], now: number): Promise<number[]> {
    return whenEnded(this.#driver, () => this.#closed).then((ended) =>
      ended
        ? this.#gate.run(() => {
          this.#committed ??= this.#driver.prepare(COMMITTED_SQL);
          return committedIds(this.#committed, stored, now);
        })
        : []
    );
  }

  #enqueue(tasks: readonly NewTask[], now: number): EnqueueResult[] {
    return insertTasks(this.#run, this.#rows, tasks.map((task) => ({ task, now })));
  }

  batch(ops: readonly BatchOp[]): Promise<BatchResult<BatchOp>[]> {
    return this.#tx(() => {
      const results: BatchResult<BatchOp>[] = [];
      for (let i = 0; i < ops.length;) {
        const op = ops[i]!;
        if (op.kind === "dequeue") {
          results.push(this.#dequeue(op.request));
          i++;
        } else if (op.kind === "enqueue") {
          // A run of enqueues (calls in flight together): one multi-row insert.
          const run = runOf(ops, i, (o) => o.kind === "enqueue") as EnqueueOp[];
          const items = run.flatMap((o) => o.tasks.map((task) => ({ task, now: o.now })));
          deal(results, run.map((o) => o.tasks.length), insertTasks(this.#run, this.#rows, items));
          i += run.length;
        } else if (onlyCompletions(op)) {
          // A run of completions (a worker's finished tasks): one statement.
          const run = runOf(ops, i, onlyCompletions) as ApplyOp[];
          const completions = run.flatMap((o) => o.transitions) as Completion[];
          deal(
            results,
            run.map((o) => o.transitions.length),
            this.#completeAll(completions, op.now),
          );
          i += run.length;
        } else {
          results.push(this.#applyAll(op.transitions, op.now));
          i++;
        }
      }
      return results;
    });
  }

  dequeue(request: ClaimRequest): Promise<ClaimResult> {
    return this.#tx(() => this.#dequeue(request));
  }

  #dequeue(request: ClaimRequest): ClaimResult {
    const recovered = this.#recover(request.now, request.recover);
    const controls = this.#all("controls").map(toControl);
    return { tasks: claimTasks(this.#run, request, controls), recovered };
  }

  apply(transitions: readonly Transition[], now: number): Promise<Outcome[]> {
    // A lone transition that cannot finish a task is one statement: no explicit transaction.
    const [only] = transitions;
    if (transitions.length === 1 && COUNTLESS.has(only!.kind)) {
      return this.#gate.run(() => [this.#apply(only!, now)]);
    }
    return this.#tx(() => this.#applyAll(transitions, now));
  }

  /** Transitions in order; a run of completions is one statement. */
  #applyAll(transitions: readonly Transition[], now: number): Outcome[] {
    if (transitions.length > 1 && transitions.every((t) => t.kind === "complete")) {
      return this.#completeAll(transitions as readonly Completion[], now);
    }
    return transitions.map((transition) => this.#apply(transition, now));
  }

  /** Many completions in one statement; each one that did not match is explained alone. */
  #completeAll(completions: readonly Completion[], now: number): Outcome[] {
    if (completions.length === 1) return [this.#apply(completions[0]!, now)];
    // A task completed twice in one batch: the first completion applies, the next is explained.
    const first = new Map<number, Completion>();
    for (const completion of completions) {
      if (!first.has(completion.ref.id)) first.set(completion.ref.id, completion);
    }
    const items = [...first.values()].map(({ ref, result }) => [
      ref.id,
      ref.attempts,
      JSON.stringify(result),
    ]);
    const rows = new Map<number, SqliteRow>();
    for (const row of this.#all("completeAll", { now, items: JSON.stringify(items) })) {
      rows.set(row.id as number, row);
    }
    return completions.map((completion) => {
      const { ref } = completion;
      const row = first.get(ref.id) === completion ? rows.get(ref.id) : undefined;
      if (!row) return this.#explain(ref, this.#get("get", { id: ref.id }));
      this.#count("completed");
      const task = ref.known
        ? withChanges(ref.known, row)
        : toTask(this.#get("get", { id: ref.id })!);
      this.#tally.add(task, now, true);
      return { ok: true, task };
    });
  }

  /** One transition, and the attempt it ended (if any) in the history. */
  #apply(transition: Transition, now: number): Outcome {
    const outcome = this.#applyOne(transition, now);
    const { kind } = transition;
    if (outcome.ok && (kind === "complete" || kind === "fail" || kind === "cancel")) {
      this.#tally.add(outcome.task, now, kind !== "cancel");
    }
    return outcome;
  }

  /** One transition: its statement, and on no match, why not. */
  #applyOne(transition: Transition, now: number): Outcome {
    if (
      transition.kind === "cancel" || transition.kind === "retry" || transition.kind === "promote"
    ) {
      return this.#byId(transition.id, transition.kind, now);
    }
    const { id, attempts } = transition.ref;
    switch (transition.kind) {
      case "heartbeat":
        return this.#fenced(transition.ref, "heartbeat", { id, attempts, now });
      case "progress": {
        const progress = JSON.stringify(transition.progress);
        return this.#fenced(transition.ref, "progress", { id, attempts, progress, now });
      }
      case "complete": {
        const result = JSON.stringify(transition.result);
        return this.#fenced(transition.ref, "complete", { id, attempts, result, now });
      }
      case "fail": {
        const { error, retryAt } = transition;
        return this.#fenced(transition.ref, "fail", { id, attempts, error, retryAt, now });
      }
      case "release":
        return this.#fenced(transition.ref, "release", { id, attempts, now });
    }
  }

  /** A lease-fenced statement (`args` carry the ref's `id` and `attempts`). */
  #fenced(ref: LeaseRef, key: Key, args: Args): Outcome {
    const row = this.#get(key, args);
    if (row) {
      this.#count(row.status as TaskStatus);
      // It returned what it can change; the rest is the caller's copy, or read (a bare id).
      const task = ref.known ? withChanges(ref.known, row) : toTask(this.#get("get", args)!);
      return { ok: true, task };
    }
    return this.#explain(ref, this.#get("get", { id: ref.id }));
  }

  #byId(id: number, key: "cancel" | "retry" | "promote", now: number): Outcome {
    // A redrive leaves a finished status: which one, it reads first.
    const before = key === "retry" ? this.#get("get", { id }) : undefined;
    const row = this.#get(key, { id, now });
    if (row) {
      if (before) this.#count(before.status as TaskStatus, -1);
      return { ok: true, task: this.#counted(row) };
    }
    const current = before ?? this.#get("get", { id });
    const status = current?.status as TaskStatus | undefined;
    // A redrivable task left alone: another live task holds its unique key.
    if (key === "retry" && (status === "failed" || status === "cancelled")) {
      return { ok: false, reason: "conflict", status };
    }
    return this.#explain({ id, attempts: null }, current);
  }

  #explain(ref: LeaseRef, row: SqliteRow | undefined): Outcome {
    if (!row) return { ok: false, reason: "missing" };
    const status = row.status as TaskStatus;
    // A claim the task never had (an attempt it has not reached) lost no lease: its status is
    // why. A claim it had, or any claim of a running task, is a lost lease.
    const lost = ref.attempts !== null &&
      (status === "running" || Number(row.attempts) >= ref.attempts);
    return { ok: false, reason: lost ? "lease_lost" : "state", status };
  }

  cancelRequested(ids: readonly number[]): Promise<number[]> {
    return this.#gate.run(() =>
      ids.length === 0
        ? []
        : this.#all("cancelRequested", { ids: JSON.stringify(ids) }).map((row) => row.id as number)
    );
  }

  failedIds(taskType: string | null, limit: number): Promise<number[]> {
    return this.#gate.run(() =>
      this.#all("failedIds", { taskType, limit }).map((row) => row.id as number)
    );
  }

  recover(now: number, decide: RecoveryDecision): Promise<Task[]> {
    return this.#tx(() => this.#recover(now, decide));
  }

  #recover(now: number, decide: RecoveryDecision): Task[] {
    const recovered = recoverExpired(this.#run, now, decide);
    for (const task of recovered) {
      this.#count(task.status);
      this.#tally.add(task, now, true);
    }
    return recovered;
  }

  latestWriteAt(): Promise<number | null> {
    return this.#gate.run(() =>
      (this.#get("latestWrite")?.at as number | null | undefined) ?? null
    );
  }

  prune(before: number, statuses: readonly TaskStatus[], limit: number): Promise<number> {
    return this.#tx(() => {
      this.#exec("raiseIdFloor");
      let pruned = 0;
      for (const status of statuses) {
        if (pruned >= limit) break;
        const deleted = this.#exec("prune", { status, before, limit: limit - pruned });
        this.#count(status, -deleted);
        pruned += deleted;
      }
      return pruned;
    });
  }

  buckets(since: number): Promise<Bucket[]> {
    return this.#gate.run(() => this.#all("buckets", { since }).map(toBucket));
  }

  bucketTotals(): Promise<BucketTotal[]> {
    return this.#gate.run(() =>
      this.#all("bucketTotals").map((row) => ({
        taskType: row.task_type as string,
        kind: row.kind as BucketTotal["kind"],
        count: Number(row.count),
      }))
    );
  }

  sampleBacklog(minute: number, counts: readonly LiveCount[]): Promise<void> {
    return this.#gate.run(() => {
      this.#exec("sampleBacklog", { minute, items: bucketItems(backlogRows(minute, counts)) });
    });
  }

  pruneBuckets(before: number): Promise<number> {
    return this.#tx(() => {
      this.#exec("rollUpBuckets", { before });
      return this.#exec("pruneBuckets", { before });
    });
  }

  get(id: number): Promise<Task | null> {
    return this.#gate.run(() => {
      const row = this.#get("get", { id });
      return row ? toTask(row) : null;
    });
  }

  stats(): Promise<QueueStats> {
    return this.#gate.run(() => {
      const stats: QueueStats = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const row of this.#all("stats")) stats[row.status as TaskStatus] = Number(row.count);
      return stats;
    });
  }

  liveCounts(): Promise<LiveCount[]> {
    return this.#gate.run(() =>
      this.#all("liveByType").map((row) => ({
        taskType: row.task_type as string,
        status: row.status as TaskStatus,
        count: Number(row.count),
      }))
    );
  }

  list(status: TaskStatus, limit: number, offset: number, filter: TaskFilter): Promise<Task[]> {
    return this.#gate.run(() => {
      const plain = filter.search === null && filter.taskType === null &&
        filter.priority === null && (filter.due === null || status !== "pending") &&
        filter.sort === null;
      const rows = status === "pending" ? "Pending" : status === "running" ? "Running" : "Finished";
      if (plain) return this.#all(`list${rows}`, { status, limit, offset }).map(toTask);
      // Any other shape: its statement, prepared the first time it is asked for.
      const query = listQuery(status, { limit, offset }, filter);
      let prepared = this.#lists.get(query.key);
      if (!prepared) {
        const compiled = query.build();
        prepared = { compiled, statement: this.#driver.prepare(compiled.sql) };
        this.#lists.set(query.key, prepared);
      }
      return prepared.statement.all(prepared.compiled.bind(query.args)).map(toTask);
    });
  }

  controls(): Promise<TypeControl[]> {
    return this.#gate.run(() => this.#all("controls").map(toControl));
  }

  keyUsage(taskType: string, concurrencyKey: string, now: number): Promise<KeyUsage> {
    return this.#gate.run(() => {
      const args = { taskType, concurrencyKey, now };
      const rate = this.#get("rateCountOfKey", args)!;
      return {
        running: Number(this.#get("runningOfKey", args)!.count),
        heldBy: this.#all("runningIdsOfKey", { ...args, limit: 10 }).map((row) => row.id as number),
        claimed: Number(rate.count),
        oldestClaimAt: rate.oldest === null ? null : Number(rate.oldest),
      };
    });
  }

  setPaused(taskType: string, pausedAt: number | null): Promise<void> {
    return this.#tx(() => setPaused(this.#run, taskType, pausedAt));
  }

  setLimits(taskType: string, limits: TypeLimits): Promise<void> {
    return this.#tx(() => setLimits(this.#run, taskType, limits));
  }

  upsertSchedule(schedule: NewSchedule, now: number): Promise<Schedule> {
    return this.#tx(() => upsertSchedule(this.#run, schedule, now));
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#tx(() => this.#get("deleteSchedule", { name }) !== undefined);
  }

  schedules(): Promise<Schedule[]> {
    return this.#gate.run(() => this.#all("listSchedules").map(toSchedule));
  }

  dueSchedules(now: number): Promise<Schedule[]> {
    return this.#gate.run(() => this.#all("dueSchedules", { now }).map(toSchedule));
  }

  fireSchedules(firings: readonly Firing[], now: number): Promise<FiredSlot[]> {
    if (firings.length === 0) return Promise.resolve([]);
    return this.#tx(() => fireSchedules(this.#run, firings, now));
  }

  nextWakeAt(): Promise<number | null> {
    return this.#gate.run(() => (this.#get("nextWake")?.at as number | null | undefined) ?? null);
  }

  upsertWorker(worker: WorkerRecord): Promise<void> {
    return this.#gate.run(() => void this.#exec("upsertWorker", workerArgs(worker)));
  }

  removeWorker(id: string): Promise<boolean> {
    return this.#gate.run(() => this.#exec("removeWorker", { id }) > 0);
  }

  workers(): Promise<WorkerRecord[]> {
    return this.#gate.run(() => this.#all("listWorkers").map(toWorker));
  }

  expireWorkers(ids: readonly string[], now: number, forgetBefore: number): Promise<number> {
    return this.#tx(() => {
      const ended = ids.length === 0
        ? 0
        : this.#exec("expireLeases", { ids: JSON.stringify(ids), now });
      this.#exec("forgetWorkers", { before: forgetBefore });
      return ended;
    });
  }

  runningIds(taskType: string, limit: number): Promise<number[]> {
    return this.#gate.run(() =>
      this.#all("runningIds", { taskType, limit }).map((row) => row.id as number)
    );
  }

  rateWindows(now: number): Promise<RateWindow[]> {
    return this.#gate.run(() => toRateWindows(this.#all("rateWindows", { now })));
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#gate.run(() => {
      if (this.#ownsDriver) this.#driver.close?.();
      else this.#driver.release?.();
    });
  }
}
