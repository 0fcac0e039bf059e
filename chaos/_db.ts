/**
 * The database's side of a verdict, read with the runtime's own SQLite (not through tasklite):
 * the final rows, `PRAGMA integrity_check`, and the row invariants (every task in exactly one
 * known status, with the timestamps and lease that status implies, and `task_counts` equal to the
 * rows it counts).
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Db, openDb } from "../bench/_runtime.ts";
import { TASK_STATUSES } from "../mod.ts";
import { type FinalRow, type HistoryEvent, parseLines } from "./_history.ts";

/** What the file looked like at the end. */
export interface FinalState {
  /** The rows by id. */
  rows: Map<number, FinalRow>;
  /** Integrity problems: `integrity_check` lines other than `ok`, and broken invariants. */
  problems: string[];
}

/**
 * Opens `path` with the runtime's own SQLite; its `close()` finalizes the statements it prepared
 * first (bun:sqlite otherwise keeps the files open until they are garbage-collected).
 */
export async function rawDb(path: string): Promise<Db> {
  const db = await openDb(path);
  const statements: { finalize?: () => void }[] = [];
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare(sql);
      statements.push(statement as { finalize?: () => void });
      return statement;
    },
    close: () => {
      for (const statement of statements) statement.finalize?.();
      db.close();
    },
  };
}

/** A raw row of the tasks table. */
type Raw = Record<string, unknown>;

/** The problems of one row (none when it is consistent). */
export function rowProblems(row: Raw): string[] {
  const problems: string[] = [];
  const id = row.id;
  const status = String(row.status);
  const set = (column: string) => row[column] !== null && row[column] !== undefined;
  if (!(TASK_STATUSES as readonly string[]).includes(status)) {
    problems.push(`task ${id}: unknown status ${status}`);
    return problems;
  }
  const finished = status === "completed" || status === "failed" || status === "cancelled";
  if (finished && !set("completed_at")) problems.push(`task ${id}: ${status} without completed_at`);
  if (!finished && set("completed_at")) problems.push(`task ${id}: ${status} with completed_at`);
  if (status === "running") {
    if (!set("lease_expires_at") || !set("started_at")) {
      problems.push(`task ${id}: running without a lease`);
    }
  } else if (set("lease_expires_at")) problems.push(`task ${id}: ${status} with a lease`);
  if (status === "completed" && Number(row.attempts) < 1) {
    problems.push(`task ${id}: completed without a claim`);
  }
  if (set("completed_at") && Number(row.completed_at) < Number(row.created_at)) {
    problems.push(`task ${id}: completed before created`);
  }
  if (set("started_at") && Number(row.started_at) < Number(row.created_at)) {
    problems.push(`task ${id}: started before created`);
  }
  return problems;
}

/** Reads `path`'s final rows and checks it. */
export async function finalState(path: string): Promise<FinalState> {
  const db = await rawDb(path);
  try {
    const problems: string[] = [];
    const check = db.prepare("PRAGMA integrity_check").all();
    for (const line of check) {
      const text = String(Object.values(line)[0]);
      if (text !== "ok") problems.push(`integrity_check: ${text}`);
    }
    const rows = new Map<number, FinalRow>();
    const byStatus = new Map<string, number>();
    for (const raw of db.prepare("SELECT * FROM tasks").all()) {
      problems.push(...rowProblems(raw));
      const status = String(raw.status);
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      let result: unknown = null;
      try {
        result = raw.result === null ? null : JSON.parse(String(raw.result));
      } catch {
        problems.push(`task ${raw.id}: result is not JSON`);
      }
      rows.set(Number(raw.id), {
        id: Number(raw.id),
        status,
        attempts: Number(raw.attempts),
        name: String(raw.name),
        result,
      });
    }
    for (const count of db.prepare("SELECT status, count FROM task_counts").all()) {
      const actual = byStatus.get(String(count.status)) ?? 0;
      if (Number(count.count) !== actual) {
        problems.push(`task_counts ${count.status}: ${count.count}, rows ${actual}`);
      }
    }
    return { rows, problems };
  } finally {
    db.close();
  }
}

/** Every event of the `*.jsonl` files in `dir`. */
export function readHistories(dir: string): HistoryEvent[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".jsonl"))
    .flatMap((name) => parseLines(readFileSync(join(dir, name), "utf8")));
}
