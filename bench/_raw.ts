/**
 * Raw SQLite baselines: what the runtime's built-in SQLite does with the same row shape as a
 * tasklite task (name, task type, JSON payload, priority, status, timestamps) and tasklite's
 * connection defaults (WAL, `synchronous=NORMAL`, busy timeout), with no queue code at all.
 *
 * - single INSERT: one prepared INSERT per row, each its own (autocommit) transaction;
 * - batch INSERT: 1,000 rows per transaction;
 * - claim + complete: one claim (`UPDATE … WHERE id = (SELECT … ORDER BY priority DESC,
 *   scheduled_at, id LIMIT 1) RETURNING id`) then one completion, each autocommit;
 * - SQL floor: the batched worker cycle with nothing but SQL: in one transaction, complete the
 *   previous 128 and claim the next 128.
 *
 * Each function returns the elapsed milliseconds of its timed part.
 *
 * @module
 */

import { configureLikeTasklite, type Db, openDb, type Value } from "./_runtime.ts";

/** How many rows the SQL floor claims and completes per transaction. */
export const FLOOR_BATCH = 128;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL,
  task_type    TEXT    NOT NULL,
  payload      TEXT    NOT NULL,
  priority     INTEGER NOT NULL,
  status       TEXT    NOT NULL,
  result       TEXT,
  created_at   INTEGER NOT NULL,
  scheduled_at INTEGER NOT NULL,
  started_at   INTEGER,
  completed_at INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_claim_idx ON jobs (priority DESC, scheduled_at, id)
  WHERE status = 'pending';
`;

const INSERT =
  `INSERT INTO jobs (name, task_type, payload, priority, status, created_at, scheduled_at)
  VALUES (?, 'bench', ?, 2, 'pending', ?, ?)`;
const CLAIM_ONE = `UPDATE jobs SET status = 'running', started_at = ?1
  WHERE id = (SELECT id FROM jobs WHERE status = 'pending' AND scheduled_at <= ?1
              ORDER BY priority DESC, scheduled_at, id LIMIT 1)
  RETURNING id`;
const CLAIM_BATCH = `UPDATE jobs SET status = 'running', started_at = ?1
  WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND scheduled_at <= ?1
               ORDER BY priority DESC, scheduled_at, id LIMIT ${FLOOR_BATCH})
  RETURNING id`;
const COMPLETE = `UPDATE jobs SET status = 'completed', completed_at = ?, result = 'null'
  WHERE id = ? AND status = 'running'`;

/** Opens `path` with the raw table and tasklite's PRAGMAs. */
export async function openRaw(path: string, synchronous = "NORMAL"): Promise<Db> {
  const db = await openDb(path);
  configureLikeTasklite(db, synchronous);
  db.exec(SCHEMA);
  return db;
}

/** Runs `fn` between `BEGIN IMMEDIATE` and `COMMIT`. */
function immediate(db: Db, fn: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    fn();
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** Adds `n` pending rows, 1,000 per transaction (untimed setup). */
export function seed(db: Db, n: number): void {
  insertBatch(db, n);
}

/**
 * One prepared INSERT per row, autocommit. `sql` binds name, payload, created at and scheduled
 * at (the lean table's INSERT by default).
 */
export function insertSingle(db: Db, n: number, sql: string = INSERT): number {
  const insert = db.prepare(sql);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const now = Date.now();
    insert.run(`t${i}`, JSON.stringify({ i }), now, now);
  }
  return performance.now() - start;
}

/** 1,000 rows per `BEGIN IMMEDIATE` transaction (`sql` as for {@linkcode insertSingle}). */
export function insertBatch(db: Db, n: number, sql: string = INSERT): number {
  const insert = db.prepare(sql);
  const start = performance.now();
  for (let i = 0; i < n; i += 1000) {
    immediate(db, () => {
      const now = Date.now();
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        insert.run(`t${j}`, JSON.stringify({ i: j }), now, now);
      }
    });
  }
  return performance.now() - start;
}

/**
 * Claims then completes one row at a time, each statement its own transaction, until none. The
 * claim binds now and returns the row; the completion binds what `completeArgs` gives (the lean
 * table's statements by default).
 */
export function claimComplete(
  db: Db,
  statements: {
    claim: string;
    complete: string;
    completeArgs: (now: number, row: Record<string, unknown>) => Value[];
  } = { claim: CLAIM_ONE, complete: COMPLETE, completeArgs: (now, row) => [now, row.id as number] },
): { ms: number; count: number } {
  const claim = db.prepare(statements.claim);
  const complete = db.prepare(statements.complete);
  let count = 0;
  const start = performance.now();
  for (;;) {
    const row = claim.get(Date.now());
    if (!row) break;
    complete.run(...statements.completeArgs(Date.now(), row));
    count++;
  }
  return { ms: performance.now() - start, count };
}

/** The batched cycle: each transaction completes the previous batch and claims the next. */
export function sqlFloor(db: Db): { ms: number; count: number } {
  const claim = db.prepare(CLAIM_BATCH);
  const complete = db.prepare(COMPLETE);
  let previous: number[] = [];
  let count = 0;
  const start = performance.now();
  do {
    const done = previous;
    immediate(db, () => {
      const now = Date.now();
      for (const id of done) complete.run(now, id);
      previous = claim.all(now).map((row) => row.id as number);
    });
    count += done.length;
  } while (previous.length > 0);
  return { ms: performance.now() - start, count };
}
