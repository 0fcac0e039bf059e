/**
 * One transaction of the PostgreSQL engine: its statements (a `sql.begin` handle, or the client
 * for a lone statement) and the changes it makes to the finished counts (`task_counts`), which
 * the engine writes in that same transaction, with the attempts it ended (the history's tally).
 *
 * @module
 */

import { BucketTally } from "../core/buckets.ts";
import type { TaskStatus } from "../task.ts";
import type * as q from "./_statements.ts";

/** One transaction's statements and its changes to the finished counts. */
export class Tx implements q.On {
  readonly db: q.Db;
  readonly t: q.Tables;
  readonly deltas = new Map<TaskStatus, number>();
  /** The attempts it ended, for the per-minute history (one upsert at its end). */
  readonly tally = new BucketTally();

  constructor(db: q.Db, t: q.Tables) {
    this.db = db;
    this.t = t;
  }

  /** Counts a task that has just reached a status (`by` -1: has just left it). */
  count(status: TaskStatus, by = 1): void {
    if (status === "pending" || status === "running") return;
    this.deltas.set(status, (this.deltas.get(status) ?? 0) + by);
  }
}
