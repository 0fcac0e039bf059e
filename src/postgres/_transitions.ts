/**
 * The PostgreSQL engine's transitions inside a transaction: one fenced statement per transition
 * (cancel and retry by id), a run of completions, of heartbeats or of failures as one
 * `UPDATE … FROM unnest(…)` with each item fenced by its lease, and for each that did not match,
 * why not (missing, lease lost, or its status).
 *
 * @module
 */

import type { BatchOp, LeaseRef, Outcome, Transition } from "../engine.ts";
import type { Task, TaskStatus } from "../task.ts";
import { type PgRow, toTask, withChanges } from "./_rows.ts";
import * as q from "./_statements.ts";
import type { Tx } from "./_tx.ts";

/** The transitions a run of which becomes one statement. */
const BULK = ["complete", "heartbeat", "fail"] as const;
export type BulkKind = typeof BULK[number];
export type Bulk = Transition & { kind: BulkKind };
/** A transition of a run, with the time of the call it came in. */
export type BulkItem = { transition: Bulk; now: number };

export function isBulk(transition: Transition): transition is Bulk {
  return (BULK as readonly string[]).includes(transition.kind);
}

/** The kind of every transition of an `apply` op, when it is one kind a run can merge. */
export function bulkKindOf(op: BatchOp): BulkKind | null {
  if (op.kind !== "apply") return null;
  const [first] = op.transitions;
  if (!first || !isBulk(first)) return null;
  return op.transitions.every((t) => t.kind === first.kind) ? first.kind : null;
}

/**
 * A run of transitions of one kind (complete, heartbeat or fail) in one statement, each fenced
 * on its own. A task named again later in the run is applied alone after it, as in sequence;
 * each one that did not match is explained alone.
 */
export async function applyRun(tx: Tx, items: readonly BulkItem[]): Promise<Outcome[]> {
  if (items.length === 1) return [await applyOne(tx, items[0]!.transition, items[0]!.now)];
  const first = new Map<number, BulkItem>();
  for (const item of items) {
    if (!first.has(item.transition.ref.id)) first.set(item.transition.ref.id, item);
  }
  const rows = new Map<number, PgRow>();
  for (const row of await runStatement(tx, [...first.values()])) {
    rows.set(Number(row.id), row);
  }
  const outcomes: Outcome[] = [];
  for (const item of items) {
    const { ref } = item.transition;
    if (first.get(ref.id) !== item) {
      outcomes.push(await applyOne(tx, item.transition, item.now));
      continue;
    }
    const row = rows.get(ref.id);
    if (!row) {
      outcomes.push(await explain(tx, ref));
      continue;
    }
    tx.count(row.status as TaskStatus);
    const task = await taskAfter(tx, ref, row);
    if (item.transition.kind !== "heartbeat") tx.tally.add(task, item.now, true);
    outcomes.push({ ok: true, task });
  }
  return outcomes;
}

/** The one statement of a run (its items name distinct tasks, all of the first one's kind). */
function runStatement(tx: Tx, items: readonly BulkItem[]): Promise<q.Rows> {
  const fences = items.map(({ transition: { ref }, now }) => ({
    id: ref.id,
    attempts: ref.attempts,
    now,
  }));
  const kind = items[0]!.transition.kind;
  if (kind === "heartbeat") return q.heartbeatAll(tx, fences);
  if (kind === "complete") {
    return q.completeAll(
      tx,
      items.map(({ transition }, i) => ({
        ...fences[i]!,
        result: JSON.stringify((transition as Bulk & { kind: "complete" }).result),
      })),
    );
  }
  return q.failAll(
    tx,
    items.map(({ transition }, i) => {
      const { error, retryAt } = transition as Bulk & { kind: "fail" };
      return { ...fences[i]!, error, retryAt };
    }),
  );
}

/** One transition: its statement, and on no match, why not. */
export async function applyOne(tx: Tx, transition: Transition, now: number): Promise<Outcome> {
  if (transition.kind === "cancel") return await cancel(tx, transition.id, now);
  if (transition.kind === "retry") return await retry(tx, transition.id, now);
  if (transition.kind === "promote") {
    const [row] = await q.promote(tx, transition.id, now);
    return row
      ? { ok: true, task: toTask(row) }
      : await explain(tx, { id: transition.id, attempts: null });
  }
  const { ref } = transition;
  const fence = { id: ref.id, attempts: ref.attempts };
  let rows: PgRow[];
  switch (transition.kind) {
    case "heartbeat":
      rows = await q.FENCED.heartbeat(tx, fence, now);
      break;
    case "progress":
      rows = await q.FENCED.progress(tx, fence, JSON.stringify(transition.progress));
      break;
    case "complete":
      rows = await q.FENCED.complete(tx, fence, JSON.stringify(transition.result), now);
      break;
    case "fail":
      rows = await q.FENCED.fail(tx, fence, transition.error, transition.retryAt, now);
      break;
    case "release":
      rows = await q.FENCED.release(tx, fence, now);
      break;
  }
  const [row] = rows;
  if (!row) return await explain(tx, ref);
  tx.count(row.status as TaskStatus);
  const task = await taskAfter(tx, ref, row);
  if (transition.kind === "complete" || transition.kind === "fail") tx.tally.add(task, now, true);
  return { ok: true, task };
}

/** The task after a fenced transition: the caller's copy with the changes, or read (a bare id). */
async function taskAfter(tx: Tx, ref: LeaseRef, row: PgRow): Promise<Task> {
  if (ref.known) return withChanges(ref.known, row);
  const [full] = await q.getTask(tx, ref.id);
  return toTask(full!);
}

async function cancel(tx: Tx, id: number, now: number): Promise<Outcome> {
  const [row] = await q.cancel(tx, id, now);
  if (row) {
    const task = toTask(row);
    tx.count(task.status);
    tx.tally.add(task, now, false);
    return { ok: true, task };
  }
  return await explain(tx, { id, attempts: null });
}

async function retry(tx: Tx, id: number, now: number): Promise<Outcome> {
  // A redrive leaves a finished status: which one, it reads first (locking the row).
  const [before] = await tx.db`SELECT status FROM ${tx.t.tasks}
    WHERE id = ${id} FOR UPDATE`;
  if (!before) return { ok: false, reason: "missing" };
  const [row] = await q.retry(tx, id, now);
  const status = before.status as TaskStatus;
  if (row) {
    tx.count(status, -1);
    return { ok: true, task: toTask(row) };
  }
  if (status === "failed" || status === "cancelled") {
    return { ok: false, reason: "conflict", status };
  }
  return { ok: false, reason: "state", status };
}

async function explain(tx: Tx, ref: LeaseRef): Promise<Outcome> {
  const [row] = await tx.db`SELECT status, attempts FROM ${tx.t.tasks}
    WHERE id = ${ref.id}`;
  if (!row) return { ok: false, reason: "missing" };
  const status = row.status as TaskStatus;
  // A claim the task never had (an attempt it has not reached) lost no lease: its status is
  // why. A claim it had, or any claim of a running task, is a lost lease.
  const lost = ref.attempts !== null &&
    (status === "running" || Number(row.attempts) >= ref.attempts);
  return { ok: false, reason: lost ? "lease_lost" : "state", status };
}
