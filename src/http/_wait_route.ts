/**
 * The long poll behind `GET /tasks/:id/wait`: the queue's `waitFor`, held until the task
 * finishes, `timeoutMs` passes or the client goes away; either way the answer is the task as it
 * is then.
 *
 * @module
 */

import { WaitTimeoutError } from "../errors.ts";
import type { TaskQueue } from "../queue.ts";
import type { Task } from "../task.ts";

/**
 * Waits for a task over HTTP.
 *
 * @returns `finished` and the task, or `null` when there is no such task.
 */
export async function waitAnswer(
  queue: TaskQueue,
  id: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ finished: boolean; task: Task } | null> {
  try {
    return { finished: true, task: await queue.waitFor(id, { timeoutMs, signal }) };
  } catch (error) {
    if (!(error instanceof WaitTimeoutError) && !signal.aborted) throw error;
    const task = await queue.getTask(id);
    return task ? { finished: false, task } : null;
  }
}
