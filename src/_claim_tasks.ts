/**
 * Claiming due tasks for {@linkcode TaskQueue.dequeue} and {@linkcode TaskQueue.dequeueMany}: one
 * engine claim (which first puts back running tasks whose lease expired), then the announcements
 * of those recovered and the `started` events of those claimed.
 *
 * @module
 */

import type { DequeueOptions } from "./queue_options.ts";
import type { QueueCore } from "./_queue_core.ts";
import type { Task } from "./task.ts";
import { DequeueSchema, LimitSchema, parse } from "./_validation.ts";

/** Claims up to `limit` due tasks, in claim order; possibly none. */
export async function claimTasks(
  core: QueueCore,
  limit: number,
  options: DequeueOptions,
): Promise<Task[]> {
  const engine = core.engine("dequeue");
  parse(LimitSchema, limit, "dequeue limit");
  const parsed = parse(DequeueSchema, options, "dequeue options");
  const now = core.now();
  const { tasks, recovered } = await engine.dequeue({
    now,
    limit,
    leaseMs: parsed.leaseMs ?? core.leaseMs,
    workerId: parsed.workerId ?? null,
    taskTypes: parsed.taskTypes ?? null,
    recover: core.recovery,
  });
  core.announceRecovered(recovered, now);
  for (const task of tasks) core.events.emit("started", { task: core.issue(task) });
  return tasks;
}
