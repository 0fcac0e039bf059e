/**
 * Storing new tasks for {@linkcode TaskQueue.enqueue} and {@linkcode TaskQueue.enqueueMany}: the
 * rows built from the validated options, in the queue's own transaction or a caller's, then the
 * wake-up and the `enqueued` events for the tasks actually inserted: at once after the queue's own
 * commit; after the caller's on SQLite (the engine's `whenCommitted`), and for the committed ones
 * only; never on PostgreSQL (its `NOTIFY` wakes workers at the commit).
 *
 * @module
 */

import { type ParsedEnqueue, toNewTask } from "./core/new_task.ts";
import type { Engine, EnqueueResult, NewTask } from "./engine.ts";
import { ValidationError } from "./errors.ts";
import type { TransactionOptions } from "./queue_options.ts";
import type { QueueCore } from "./_queue_core.ts";
import { TaskStatus } from "./task.ts";
import { parse, TransactionOptionsSchema } from "./_validation.ts";

/** What to store: the validated tasks, and where (a caller's transaction, or the queue's own). */
export interface StoreRequest {
  /** The tasks, validated. */
  parsed: ParsedEnqueue[];
  /** Inside a caller's transaction, instead of one of the queue's own. */
  where: TransactionOptions;
}

/** Stores the tasks; their ids, in order (for a `uniqueKey` already live, the existing task's). */
export async function storeTasks(
  core: QueueCore,
  engine: Engine,
  { parsed, where }: StoreRequest,
): Promise<number[]> {
  const { transaction } = parse(TransactionOptionsSchema, where, "enqueue options");
  if (transaction !== undefined && !engine.enqueueWithin) {
    throw new ValidationError(
      `Invalid enqueue options: transaction is not supported on ${engine.name}`,
    );
  }
  const now = core.now();
  const tasks = parsed.map((options) => toNewTask(options, now));
  if (transaction !== undefined) {
    const stored = await engine.enqueueWithin!(transaction, tasks, now);
    // PostgreSQL: the engine's NOTIFY wakes workers at the commit; no event (no commit seen).
    // SQLite: the engine tells which tasks the caller's transaction committed, once it ended.
    const inserted = insertedOf(tasks, stored);
    if (engine.whenCommitted && inserted.length > 0) {
      engine.whenCommitted(inserted, now).then(
        (ids) => {
          const committed = new Set(ids);
          announce(core, inserted.filter(({ id }) => committed.has(id)), core.now());
        },
        (error) =>
          core.logger.warn("Enqueued in a transaction: cannot tell whether it committed", {
            error: String(error),
          }),
      );
    }
    return stored.map((result) => result.id);
  }
  const stored = await engine.enqueue(tasks, now);
  announce(core, insertedOf(tasks, stored), now);
  return stored.map((result) => result.id);
}

/** The tasks actually inserted (one whose uniqueKey was live already was not), with their ids. */
function insertedOf(
  tasks: readonly NewTask[],
  stored: readonly EnqueueResult[],
): { id: number; task: NewTask }[] {
  return tasks.flatMap((task, i) => stored[i]!.inserted ? [{ id: stored[i]!.id, task }] : []);
}

/** Wakes idle workers for the inserted tasks and emits their `enqueued` events. */
function announce(
  core: QueueCore,
  inserted: readonly { id: number; task: NewTask }[],
  now: number,
) {
  core.wake(inserted.map(({ task }) => ({ ...task, status: TaskStatus.PENDING })), now);
  if (!core.events.has("enqueued")) return;
  for (const { id, task } of inserted) {
    core.events.emit("enqueued", {
      taskId: id,
      name: task.name,
      taskType: task.taskType,
      priority: task.priority,
      scheduledAt: task.scheduledAt,
    });
  }
}
