/**
 * The SQLite engine's inserts, inside a write lock (its transaction, or a lone statement): a task
 * with a unique key alone (its conflict is its own), a run of keyless ones in multi-row
 * statements with consecutive ids from one `nextId` read.
 *
 * @module
 */

import type { SqliteStatement, SqliteValue } from "../drivers/driver.ts";
import type { EnqueueResult, NewTask } from "../engine.ts";
import { ROW_CHUNKS, type Statements } from "./_statements.ts";

/** A task to insert, and the time of its enqueue. */
export interface Insert {
  readonly task: NewTask;
  readonly now: number;
}

/**
 * Inserts tasks in order.
 *
 * @param run The engine's statements.
 * @param rows The multi-row inserts, by how many tasks they take (`ROW_CHUNKS` and 1).
 * @param items The tasks.
 * @returns One result per task, in order.
 */
export function insertTasks(
  run: Statements,
  rows: ReadonlyMap<number, SqliteStatement>,
  items: readonly Insert[],
): EnqueueResult[] {
  const results: EnqueueResult[] = [];
  for (let i = 0; i < items.length;) {
    let end = i;
    while (end < items.length && items[end]!.task.uniqueKey === null) end++;
    if (end - i < 2) {
      const { task, now } = items[i]!;
      results.push(insertTask(run, task, now));
      i++;
      continue;
    }
    let id = Number(run.get("nextId")!.id);
    while (i < end) {
      const size = ROW_CHUNKS.find((chunk) => chunk <= end - i) ?? 1;
      const args: SqliteValue[] = [];
      for (const { task, now } of items.slice(i, i + size)) {
        results.push({ id, inserted: true });
        args.push(
          id++,
          task.name,
          task.taskType,
          JSON.stringify(task.payload),
          task.priority,
          task.maxRetries,
          now,
          task.scheduledAt,
          task.timeoutMs,
          task.retryPolicy ? JSON.stringify(task.retryPolicy) : null,
          task.concurrencyKey,
        );
      }
      rows.get(size)!.run(args);
      i += size;
    }
  }
  return results;
}

/**
 * Inserts one task; a unique key that a live task holds already gives that task's id.
 *
 * @param run The engine's statements.
 * @param task The task.
 * @param now The time of its enqueue.
 * @returns Its id, and whether it was inserted.
 */
export function insertTask(run: Statements, task: NewTask, now: number): EnqueueResult {
  const inserted = run.get("insert", {
    name: task.name,
    taskType: task.taskType,
    payload: JSON.stringify(task.payload),
    priority: task.priority,
    maxRetries: task.maxRetries,
    uniqueKey: task.uniqueKey,
    now,
    scheduledAt: task.scheduledAt,
    timeoutMs: task.timeoutMs,
    retryPolicy: task.retryPolicy ? JSON.stringify(task.retryPolicy) : null,
    concurrencyKey: task.concurrencyKey,
  });
  if (inserted) return { id: inserted.id as number, inserted: true };
  const live = run.get("findLiveByKey", { uniqueKey: task.uniqueKey })!;
  return { id: live.id as number, inserted: false };
}
