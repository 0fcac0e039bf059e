/**
 * The PostgreSQL engine: the same contract as the SQLite engine (`../sqlite/engine.ts`), over a
 * postgres.js client. Lists of transitions run in one transaction (`sql.begin`), a lone
 * transition that cannot finish a task as its own statement. A run of completions, of heartbeats or
 * of failures runs as one `UPDATE … FROM unnest(…)`, each item fenced by its lease (one that did
 * not match is explained alone, `_transitions.ts`); claims skip rows other
 * transactions hold (`FOR UPDATE SKIP LOCKED`, `_claim.ts`). The finished counts
 * (`task_counts`) change in the transaction of each change, so stats read no finished row.
 *
 * @module
 */

import type { TaskFilter } from "../task_query.ts";
import {
  backlogRows,
  type Bucket,
  BUCKET_OUTCOMES,
  bucketItems,
  type BucketTotal,
} from "../core/buckets.ts";
import type { Sql } from "postgres";
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
} from "../engine.ts";
import type { QueueStats, Task, TaskStatus } from "../task.ts";
import { toBucket, toControl, toSchedule, toTask } from "./_rows.ts";
import { claimTasks, recoverExpired } from "./_claim.ts";
import * as control from "./_control_statements.ts";
import * as registry from "./_worker_statements.ts";
import { toRateWindows, toWorker } from "../sqlite/_rows.ts";
import * as q from "./_statements.ts";
import { toStorageError } from "./_storage_error.ts";
import { channelOf, payloadOf, type PostgresNotifier } from "./_notifier.ts";
import { applyOne, applyRun, type Bulk, bulkKindOf, isBulk } from "./_transitions.ts";
import { Tx } from "./_tx.ts";
import { ValidationError } from "../errors.ts";

/** How the engine holds its client. */
export interface PostgresEngineOptions {
  /** The schema its tables live in. */
  schema: string;
  /** Whether {@linkcode PostgresEngine.close} ends the client (false for a caller's). */
  ownsClient: boolean;
  /** The queue's `LISTEN/NOTIFY` notifier, closed with the engine (none: the caller gave one). */
  notifier?: PostgresNotifier;
}

type Insert = { task: NewTask; now: number };

/** Transitions that never move a task into or out of a finished status. */
const COUNTLESS: ReadonlySet<Transition["kind"]> = new Set(["heartbeat", "progress", "release"]);

/** The {@linkcode Engine} over a postgres.js client, on one schema. */
export class PostgresEngine implements Engine {
  /** `postgres (<schema>)`. */
  readonly name: string;
  readonly #sql: Sql;
  readonly #tables: q.Tables;
  readonly #ownsClient: boolean;
  readonly #lockKey: string;
  readonly #channel: string;
  /** The `LISTEN/NOTIFY` notifier, when the queue uses the engine's. */
  readonly notifier?: PostgresNotifier;

  /**
   * An engine on a migrated schema.
   *
   * @param sql The client.
   * @param options The schema, and whether the engine owns the client.
   */
  constructor(sql: Sql, options: PostgresEngineOptions) {
    this.name = `postgres (${options.schema})`;
    this.#sql = sql;
    this.#tables = q.tablesOf(sql as unknown as q.Db, options.schema);
    this.#ownsClient = options.ownsClient;
    this.#lockKey = `tasklite claim ${options.schema}`;
    this.#channel = channelOf(options.schema);
    if (options.notifier) this.notifier = options.notifier;
  }

  /** A statement outside a transaction; errors mapped. */
  async #run<T>(fn: (on: Tx) => Promise<T>): Promise<T> {
    try {
      return await fn(new Tx(this.#sql as unknown as q.Db, this.#tables));
    } catch (error) {
      throw toStorageError(error);
    }
  }

  /** One transaction; the finished counts it changed are written in it. */
  async #tx<T>(fn: (on: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.#sql.begin(async (db) => {
        const tx = new Tx(db as unknown as q.Db, this.#tables);
        const result = await fn(tx);
        for (const [status, delta] of tx.deltas) {
          if (delta !== 0) await q.addCount(tx, status, delta);
        }
        if (!tx.tally.empty) await q.addBuckets(tx, bucketItems(tx.tally.take()));
        return result;
      }) as T;
    } catch (error) {
      throw toStorageError(error);
    }
  }

  enqueue(tasks: readonly NewTask[], now: number): Promise<EnqueueResult[]> {
    const items = tasks.map((task) => ({ task, now }));
    if (tasks.length === 1) return this.#run((tx) => this.#insert(tx, items));
    return this.#tx((tx) => this.#insert(tx, items));
  }

  /**
   * Inserts inside the caller's transaction, with a `NOTIFY` in it too: PostgreSQL delivers that
   * at commit (to every process, this one included) and drops it at rollback.
   */
  async enqueueWithin(
    transaction: unknown,
    tasks: readonly NewTask[],
    now: number,
  ): Promise<EnqueueResult[]> {
    if (typeof transaction !== "function") {
      throw new ValidationError(
        "Invalid enqueue options: transaction: must be a postgres.js transaction (the sql that sql.begin hands over) on postgres",
      );
    }
    const tx = new Tx(transaction as q.Db, this.#tables);
    try {
      const results = await this.#insert(tx, tasks.map((task) => ({ task, now })));
      const ready = tasks.filter((task, i) => results[i]!.inserted && task.scheduledAt <= now);
      if (ready.length > 0) {
        const payload = payloadOf(new Set(ready.map((task) => task.taskType)));
        await tx.db`SELECT pg_notify(${this.#channel}, ${payload})`;
      }
      return results;
    } catch (error) {
      throw toStorageError(error);
    }
  }

  /** Inserts in order: runs of keyless tasks as one statement, a keyed task alone. */
  async #insert(tx: Tx, items: readonly Insert[]): Promise<EnqueueResult[]> {
    const results: EnqueueResult[] = [];
    for (let i = 0; i < items.length;) {
      let end = i;
      while (end < items.length && items[end]!.task.uniqueKey === null) end++;
      if (end - i >= 2) {
        const rows = await q.insertMany(tx, items.slice(i, end));
        const ids = rows.map((row) => Number(row.id)).sort((a, b) => a - b);
        for (const id of ids) results.push({ id, inserted: true });
        i = end;
        continue;
      }
      results.push(await this.#insertOne(tx, items[i]!));
      i++;
    }
    return results;
  }

  async #insertOne(tx: Tx, { task, now }: Insert): Promise<EnqueueResult> {
    const [row] = await q.insertOne(tx, task, now);
    if (row) return { id: Number(row.id), inserted: true };
    const [live] = await q.findLiveByKey(tx, task.uniqueKey!);
    if (live) return { id: Number(live.id), inserted: false };
    // The live holder finished between the two statements: the key is free again.
    return await this.#insertOne(tx, { task, now });
  }

  batch(ops: readonly BatchOp[]): Promise<BatchResult<BatchOp>[]> {
    return this.#tx(async (tx) => {
      const results: BatchResult<BatchOp>[] = [];
      for (let i = 0; i < ops.length;) {
        const op = ops[i]!;
        if (op.kind === "dequeue") {
          results.push(await this.#dequeue(tx, op.request));
          i++;
        } else if (op.kind === "enqueue") {
          let end = i + 1;
          while (end < ops.length && ops[end]!.kind === "enqueue") end++;
          const run = ops.slice(i, end) as (BatchOp & { kind: "enqueue" })[];
          const merged = await this.#insert(
            tx,
            run.flatMap((o) => o.tasks.map((task) => ({ task, now: o.now }))),
          );
          let from = 0;
          for (const o of run) results.push(merged.slice(from, from += o.tasks.length));
          i = end;
        } else if (bulkKindOf(op) !== null) {
          const kind = bulkKindOf(op);
          let end = i + 1;
          while (end < ops.length && bulkKindOf(ops[end]!) === kind) end++;
          const run = ops.slice(i, end) as (BatchOp & { kind: "apply" })[];
          const merged = await applyRun(
            tx,
            run.flatMap((o) => o.transitions.map((t) => ({ transition: t as Bulk, now: o.now }))),
          );
          let from = 0;
          for (const o of run) results.push(merged.slice(from, from += o.transitions.length));
          i = end;
        } else {
          results.push(await this.#applyAll(tx, op.transitions, op.now));
          i++;
        }
      }
      return results;
    });
  }

  dequeue(request: ClaimRequest): Promise<ClaimResult> {
    return this.#tx((tx) => this.#dequeue(tx, request));
  }

  async #dequeue(tx: Tx, request: ClaimRequest): Promise<ClaimResult> {
    const recovered = await this.#recover(tx, request.now, request.recover);
    const tasks = await claimTasks(tx, request, this.#lockKey);
    return { tasks, recovered };
  }

  apply(transitions: readonly Transition[], now: number): Promise<Outcome[]> {
    const [only] = transitions;
    if (transitions.length === 1 && COUNTLESS.has(only!.kind)) {
      return this.#run(async (tx) => [await applyOne(tx, only!, now)]);
    }
    return this.#tx((tx) => this.#applyAll(tx, transitions, now));
  }

  async #applyAll(tx: Tx, transitions: readonly Transition[], now: number): Promise<Outcome[]> {
    const [first] = transitions;
    if (
      transitions.length > 1 && isBulk(first!) && transitions.every((t) => t.kind === first.kind)
    ) {
      return await applyRun(tx, transitions.map((t) => ({ transition: t as Bulk, now })));
    }
    const outcomes: Outcome[] = [];
    for (const transition of transitions) outcomes.push(await applyOne(tx, transition, now));
    return outcomes;
  }

  cancelRequested(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.#run(async (tx) => (await q.cancelRequested(tx, ids)).map((row) => Number(row.id)));
  }

  failedIds(taskType: string | null, limit: number): Promise<number[]> {
    return this.#run(async (tx) =>
      (await q.failedIds(tx, taskType, limit)).map((row) => Number(row.id))
    );
  }

  recover(now: number, decide: RecoveryDecision): Promise<Task[]> {
    return this.#tx((tx) => this.#recover(tx, now, decide));
  }

  async #recover(tx: Tx, now: number, decide: RecoveryDecision): Promise<Task[]> {
    const recovered = await recoverExpired(tx, now, decide);
    for (const task of recovered) {
      tx.count(task.status);
      tx.tally.add(task, now, true);
    }
    return recovered;
  }

  latestWriteAt(): Promise<number | null> {
    return this.#run(async (tx) => {
      const [row] = await q.latestWrite(tx);
      return row?.at === null || row?.at === undefined ? null : Number(row.at);
    });
  }

  prune(before: number, statuses: readonly TaskStatus[], limit: number): Promise<number> {
    return this.#tx(async (tx) => {
      let pruned = 0;
      for (const status of statuses) {
        if (pruned >= limit) break;
        const { count } = await q.prune(tx, status, before, limit - pruned);
        tx.count(status, -count);
        pruned += count;
      }
      return pruned;
    });
  }

  buckets(since: number): Promise<Bucket[]> {
    return this.#run(async (tx) => (await q.buckets(tx, since)).map(toBucket));
  }

  bucketTotals(): Promise<BucketTotal[]> {
    return this.#run(async (tx) =>
      (await q.bucketTotals(tx, BUCKET_OUTCOMES)).map((row) => ({
        taskType: row.task_type as string,
        kind: row.kind as BucketTotal["kind"],
        count: Number(row.count),
      }))
    );
  }

  sampleBacklog(minute: number, counts: readonly LiveCount[]): Promise<void> {
    return this.#run(async (tx) => {
      await q.sampleBacklog(tx, minute, bucketItems(backlogRows(minute, counts)));
    });
  }

  pruneBuckets(before: number): Promise<number> {
    return this.#tx(async (tx) => {
      await q.rollUpBuckets(tx, before, BUCKET_OUTCOMES);
      return (await q.pruneBuckets(tx, before)).count;
    });
  }

  get(id: number): Promise<Task | null> {
    return this.#run(async (tx) => {
      const [row] = await q.getTask(tx, id);
      return row ? toTask(row) : null;
    });
  }

  stats(): Promise<QueueStats> {
    return this.#run(async (tx) => {
      const stats: QueueStats = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const row of await q.stats(tx)) stats[row.status as TaskStatus] = Number(row.count);
      return stats;
    });
  }

  liveCounts(): Promise<LiveCount[]> {
    return this.#run(async (tx) =>
      (await q.liveByType(tx)).map((row) => ({
        taskType: row.task_type as string,
        status: row.status as TaskStatus,
        count: Number(row.count),
      }))
    );
  }

  list(status: TaskStatus, limit: number, offset: number, filter: TaskFilter): Promise<Task[]> {
    return this.#run(async (tx) =>
      (await q.list(tx, status, { limit, offset }, filter)).map(toTask)
    );
  }

  controls(): Promise<TypeControl[]> {
    return this.#run(async ({ db, t }) => (await db`SELECT * FROM ${t.controls}`).map(toControl));
  }

  keyUsage(taskType: string, concurrencyKey: string, now: number): Promise<KeyUsage> {
    return this.#run(async ({ db, t }) => {
      const [row] = await db`SELECT
        (SELECT count(*) FROM ${t.tasks} WHERE status = 'running' AND concurrency_key IS NOT NULL
          AND task_type = ${taskType} AND concurrency_key = ${concurrencyKey}) AS running,
        w.claimed, w.oldest FROM (SELECT count(*) AS claimed, min(e.claimed_at) AS oldest
          FROM ${t.rateEvents} AS e JOIN ${t.controls} AS c ON c.task_type = e.task_type
          WHERE e.task_type = ${taskType} AND e.concurrency_key = ${concurrencyKey}
            AND c.key_rate_window_ms IS NOT NULL
            AND e.claimed_at > ${now}::int8 - c.key_rate_window_ms) AS w`;
      const held = await db`SELECT id FROM ${t.tasks}
        WHERE status = 'running' AND concurrency_key IS NOT NULL AND task_type = ${taskType}
          AND concurrency_key = ${concurrencyKey} ORDER BY id DESC LIMIT 10`;
      return {
        running: Number(row!.running),
        heldBy: held.map((r) => Number(r.id)),
        claimed: Number(row!.claimed),
        oldestClaimAt: row!.oldest === null ? null : Number(row!.oldest),
      };
    });
  }

  setPaused(taskType: string, pausedAt: number | null): Promise<void> {
    return this.#tx((tx) => control.setPaused(tx, taskType, pausedAt));
  }

  setLimits(taskType: string, limits: TypeLimits): Promise<void> {
    return this.#tx((tx) => control.setLimits(tx, taskType, limits));
  }

  upsertSchedule(schedule: NewSchedule, now: number): Promise<Schedule> {
    return this.#run(async (tx) =>
      toSchedule((await control.upsertSchedule(tx, schedule, now))[0]!)
    );
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#run(async (tx) => (await control.deleteSchedule(tx, name)).length > 0);
  }

  schedules(): Promise<Schedule[]> {
    return this.#run(async (tx) => (await control.listSchedules(tx)).map(toSchedule));
  }

  dueSchedules(now: number): Promise<Schedule[]> {
    return this.#run(async (tx) => (await control.dueSchedules(tx, now)).map(toSchedule));
  }

  fireSchedules(firings: readonly Firing[], now: number): Promise<FiredSlot[]> {
    if (firings.length === 0) return Promise.resolve([]);
    return this.#tx(async (tx) => {
      const fired: FiredSlot[] = [];
      for (const { name, slot, nextRunAt, task } of firings) {
        // Another process fired this slot first (or the schedule changed): nothing to do.
        const [owned] = await control.advanceSchedule(tx, { name, slot, nextRunAt }, now);
        if (!owned) continue;
        const { id: taskId } = await this.#insertOne(tx, { task, now });
        await control.recordScheduleTask(tx, name, taskId);
        const { name: taskName, taskType, priority } = task;
        fired.push({ name, slot, taskId, taskName, taskType, priority });
      }
      return fired;
    });
  }

  nextWakeAt(): Promise<number | null> {
    return this.#run(async (tx) => {
      const [row] = await q.nextWake(tx);
      return row?.at === null || row?.at === undefined ? null : Number(row.at);
    });
  }

  upsertWorker(worker: WorkerRecord): Promise<void> {
    return this.#run(async (tx) => void await registry.upsertWorker(tx, worker));
  }

  removeWorker(id: string): Promise<boolean> {
    return this.#run(async (tx) => (await registry.removeWorker(tx, id)).count > 0);
  }

  workers(): Promise<WorkerRecord[]> {
    return this.#run(async (tx) => (await registry.listWorkers(tx)).map(toWorker));
  }

  expireWorkers(ids: readonly string[], now: number, forgetBefore: number): Promise<number> {
    return this.#tx(async (tx) => {
      const ended = ids.length === 0 ? 0 : (await registry.expireLeases(tx, ids, now)).count;
      await registry.forgetWorkers(tx, forgetBefore);
      return ended;
    });
  }

  runningIds(taskType: string, limit: number): Promise<number[]> {
    return this.#run(async (tx) =>
      (await registry.runningIds(tx, taskType, limit)).map((row) => Number(row.id))
    );
  }

  rateWindows(now: number): Promise<RateWindow[]> {
    return this.#run(async (tx) => toRateWindows(await registry.rateWindows(tx, now)));
  }

  async close(): Promise<void> {
    await this.notifier?.close();
    if (this.#ownsClient) await this.#sql.end({ timeout: 5 });
  }
}
