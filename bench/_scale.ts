/**
 * Builds the scale workload's file: tasklite's schema with millions of finished (completed) rows,
 * inserted with raw SQL straight into its `tasks` table. The column list comes from
 * `PRAGMA table_info(tasks)` at run time, so the builder follows schema changes: known columns get
 * a completed task's values, any other NOT NULL column without a default gets a neutral value of
 * its declared type. A per-status counter table, when the schema has one, is recounted after.
 *
 * @module
 */

import { configureLikeTasklite, type Db, openDb } from "./_runtime.ts";
import { createSchema, TASK_TYPE } from "./_tasklite.ts";

/** A column as `PRAGMA table_info` lists it. */
interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: unknown;
  pk: number;
}

/** The value of column `name` in the `i`th finished row, finished `at`. */
function known(name: string, i: number, at: number): unknown {
  switch (name) {
    case "name":
      return `done${i}`;
    case "task_type":
      return TASK_TYPE;
    case "payload":
      return JSON.stringify({ i });
    case "priority":
      return 2;
    case "status":
      return "completed";
    case "result":
      return "null";
    case "retry_count":
      return 0;
    case "max_retries":
      return 3;
    case "attempts":
      return 1;
    case "created_at":
    case "scheduled_at":
    case "started_at":
    case "completed_at":
      return at;
    case "worker_id":
      return "bench-seed";
    case "errors":
      return "[]";
    default:
      return undefined;
  }
}

/** A neutral value for an unknown NOT NULL column of declared type `type`. */
function neutral(type: string): unknown {
  return /INT|REAL|NUM/i.test(type) ? 0 : "";
}

/**
 * Recounts a per-status counter table (`task_counts (status, count)`), if the schema keeps one:
 * rows inserted behind the queue's back would otherwise not be counted.
 */
function refreshCounters(db: Db): void {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE name = 'task_counts'").get();
  if (!table) return;
  db.exec(
    "UPDATE task_counts SET count = (SELECT count(*) FROM tasks WHERE status = task_counts.status)",
  );
}

/**
 * Creates tasklite's schema in `path` and inserts `rows` completed tasks, 50,000 per transaction.
 *
 * @returns The columns filled and the elapsed ms.
 */
export async function buildScaleFile(
  path: string,
  rows: number,
): Promise<{ columns: string[]; ms: number }> {
  await createSchema(path);
  const db = await openDb(path);
  try {
    configureLikeTasklite(db);
    const info = db.prepare("PRAGMA table_info(tasks)").all() as unknown as ColumnInfo[];
    if (info.length === 0) throw new Error("tasklite's schema has no tasks table");
    const base = Date.now() - 30 * 24 * 3600_000;
    const columns = info.filter((c) =>
      !c.pk && (known(c.name, 0, base) !== undefined || (c.notnull && c.dflt_value === null))
    );
    const names = columns.map((c) => c.name);
    const insert = db.prepare(
      `INSERT INTO tasks (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
    );
    const start = performance.now();
    for (let i = 0; i < rows; i += 50_000) {
      db.exec("BEGIN IMMEDIATE");
      for (let j = i; j < Math.min(rows, i + 50_000); j++) {
        const at = base + Math.floor(j / 10);
        insert.run(...columns.map((c) => (known(c.name, j, at) ?? neutral(c.type)) as never));
      }
      db.exec("COMMIT");
    }
    refreshCounters(db);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    // what tasklite's close() runs, forced to cover every table as a long-lived file's would
    db.exec("PRAGMA optimize=0x10002");
    return { columns: names, ms: performance.now() - start };
  } finally {
    db.close();
  }
}
