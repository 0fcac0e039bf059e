/**
 * Storing new tasks for {@linkcode TaskQueue.enqueue} and {@linkcode TaskQueue.enqueueMany}: the
 * rows built from the validated options, in the queue's own transaction or a caller's (PostgreSQL),
 * then the wake-up and the `enqueued` events for the tasks actually inserted.
 *
 * @module
 */

import { type ParsedEnqueue, toNewTask } from "./core/new_task.ts";
import type { Engine } from "./engine.ts";
import { ValidationError } from "./errors.ts";
import type { TransactionOptions } from "./queue_options.ts";
import type { QueueCore } from "./_queue_core.ts";
import { TaskStatus } from "./task.ts";
import { parse, TransactionOptionsSchema } from "./_validation.ts";

/** What to store: the validated tasks, and where (a caller's transaction, or the queue's own). */
export interface StoreRequest {
  /** The tasks, validated. */
  parsed: ParsedEnqueue[];
  /** Inside a caller's transaction (PostgreSQL), instead of one of the queue's own. */
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
      `Invalid enqueue options: transaction is not supported on ${engine.name} (PostgreSQL only)`,
    );
  }
  const now = core.now();
  const tasks = parsed.map((options) => toNewTask(options, now));
  if (transaction !== undefined) {
    // The caller commits: the engine's NOTIFY wakes workers then; no event (no commit seen).
    const stored = await engine.enqueueWithin!(transaction, tasks, now);
    return stored.map((result) => result.id);
  }
  const stored = await engine.enqueue(tasks, now);
  const inserted = tasks.filter((_, i) => stored[i]!.inserted);
  core.wake(inserted.map((task) => ({ ...task, status: TaskStatus.PENDING })), now);
  if (core.events.has("enqueued")) {
    // A task whose uniqueKey was live already was not enqueued: no event.
    for (const [i, task] of tasks.entries()) {
      if (!stored[i]!.inserted) continue;
      core.events.emit("enqueued", {
        taskId: stored[i]!.id,
        name: task.name,
        taskType: task.taskType,
        priority: task.priority,
        scheduledAt: task.scheduledAt,
      });
    }
  }
  return stored.map((result) => result.id);
}
