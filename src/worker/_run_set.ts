/**
 * Queries over a worker's runs (one per claim, from the claim until its outcome is recorded and
 * its handler has settled): how many hold a slot or run a handler, which leases are about to run
 * out, whether a task still runs here, when they are all recorded or settled, and which were
 * cancelled.
 *
 * @module
 */

import type { WorkerQueue } from "../worker_options.ts";
import { abortRun, type Run } from "./_run.ts";

/** Runs that hold a slot: their handler has not settled (even one whose attempt has ended). */
export function busyRuns(runs: Iterable<Run>): number {
  let busy = 0;
  for (const run of runs) if (!run.settled) busy++;
  return busy;
}

/** Handlers running now (started and not settled, whether or not their attempt has ended). */
export function handlingRuns(runs: Iterable<Run>): number {
  let running = 0;
  for (const run of runs) if (run.started && !run.settled) running++;
  return running;
}

/** Runs whose outcome is not recorded yet (a handler that outlived its attempt is not one). */
export function unrecordedRuns(runs: Iterable<Run>): number {
  let count = 0;
  for (const run of runs) if (!run.recorded) count++;
  return count;
}

/** Live runs whose lease runs out within a quarter of a heartbeat interval. */
export function overdueRuns(runs: Iterable<Run>, now: number): Run[] {
  const overdue: Run[] = [];
  for (const run of runs) {
    const expiresAt = run.task.leaseExpiresAt;
    if (!run.over && expiresAt !== null && expiresAt - now <= run.every / 4) overdue.push(run);
  }
  return overdue;
}

/** Whether an earlier run of this task still runs its handler here. */
export function isBlocked(runs: Iterable<Run>, run: Run): boolean {
  for (const other of runs) {
    if (other !== run && other.task.id === run.task.id && other.started && !other.settled) {
      return true;
    }
  }
  return false;
}

/** When every run's outcome is recorded. */
export function allRecorded(runs: Iterable<Run>): Promise<unknown> {
  return Promise.all([...runs].map((run) => run.done));
}

/** When every run's outcome is recorded and every handler has settled. */
export function allSettled(runs: Iterable<Run>): Promise<unknown> {
  return Promise.all([...runs].map((run) => Promise.all([run.done, run.handled])));
}

/** Aborts the live runs whose task has a cancel mark (cause `"cancelled"`). */
export async function checkCancellations(runs: Iterable<Run>, queue: WorkerQueue): Promise<void> {
  const live = [...runs].filter((run) => !run.over);
  if (live.length === 0) return;
  const ids = new Set(await queue.cancelRequested(live.map((run) => run.task.id)));
  for (const run of live) {
    if (ids.has(run.task.id)) abortRun(run, "cancelled", "The task was cancelled");
  }
}
