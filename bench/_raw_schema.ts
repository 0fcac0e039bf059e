/**
 * Raw SQL on tasklite's own table: the same statements a queue needs at the least (insert, claim,
 * complete), prepared once, with none of the queue's code (no validation, no recovery, no finished
 * counts, no JSON of a result). Beside the lean raw baselines of `_raw.ts` it splits tasklite's
 * distance from SQLite's floor into what its schema costs (the row's 25 columns, the partial
 * indexes a task moves through) and what its code costs.
 *
 * @module
 */

import { TaskQueue } from "../mod.ts";
import * as raw from "./_raw.ts";
import { configureLikeTasklite, type Db, openDb } from "./_runtime.ts";

/** Binds name, payload, created at and scheduled at, as the lean table's INSERT does. */
const INSERT = `INSERT INTO tasks (name, task_type, payload, priority, status, retry_count,
  max_retries, attempts, created_at, scheduled_at, errors)
  VALUES (?, 'bench', ?, 2, 'pending', 0, 3, 0, ?, ?, '[]')`;
const CLAIM_ONE = `UPDATE tasks SET status = 'running', attempts = attempts + 1, started_at = ?1,
    lease_ms = 30000, lease_expires_at = ?1 + 30000
  WHERE id = (SELECT id FROM tasks INDEXED BY tasks_dequeue_idx
    WHERE status = 'pending' AND scheduled_at <= ?1 ORDER BY priority DESC, scheduled_at, id
    LIMIT 1)
  RETURNING id, attempts`;
const COMPLETE = `UPDATE tasks SET status = 'completed', result = 'null', completed_at = ?,
    lease_expires_at = NULL
  WHERE id = ? AND attempts = ? AND status = 'running'`;

/** Creates tasklite's schema in `path` (through the queue), then opens it raw. */
export async function openTaskliteTable(path: string): Promise<Db> {
  await (await TaskQueue.open(path)).close();
  const db = await openDb(path);
  configureLikeTasklite(db, "NORMAL");
  return db;
}

/** One prepared INSERT per row into tasklite's table, autocommit. */
export function insertSingle(db: Db, n: number): number {
  return raw.insertSingle(db, n, INSERT);
}

/** 1,000 rows per transaction into tasklite's table. */
export function insertBatch(db: Db, n: number): number {
  return raw.insertBatch(db, n, INSERT);
}

/** Claims then completes (fenced) one row at a time, each statement autocommit, until none. */
export function claimComplete(db: Db): { ms: number; count: number } {
  return raw.claimComplete(db, {
    claim: CLAIM_ONE,
    complete: COMPLETE,
    completeArgs: (now, row) => [now, row.id as number, row.attempts as number],
  });
}
