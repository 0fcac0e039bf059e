/**
 * `waitFor`: until a task finishes. In this process its end is seen at once (the queue's
 * `completed`, `dead` and `cancelled` events end the sleep); one in another process by reading the
 * task again by its primary key every `pollIntervalMs` on the queue's clock. A timeout rejects
 * with `WaitTimeoutError`, an abort with the signal's reason.
 *
 * @module
 */

import type { Engine } from "./engine.ts";
import { TaskNotFoundError, WaitTimeoutError } from "./errors.ts";
import type { QueueCore } from "./_queue_core.ts";
import type { WaitOptions } from "./queue_options.ts";
import type { Task } from "./task.ts";
import { WakeableSleep } from "./_wake.ts";

/** Whether a task has reached a final status. */
export function isFinished(task: Task): boolean {
  return task.status === "completed" || task.status === "failed" || task.status === "cancelled";
}

/** Resolves with the task once it is finished. */
export async function waitForTask(
  core: QueueCore,
  engine: Engine,
  id: number,
  options: WaitOptions,
): Promise<Task> {
  const { timeoutMs = Infinity, pollIntervalMs = 1000, signal } = options;
  signal?.throwIfAborted();
  const deadline = core.now() + timeoutMs;
  const sleep = new WakeableSleep(core.clock);
  const ended = ({ task }: { task: Task }) => {
    if (task.id === id) sleep.wake();
  };
  const off = [
    core.events.on("completed", ended),
    core.events.on("dead", ended),
    core.events.on("cancelled", ended),
  ];
  try {
    for (;;) {
      const task = await engine.get(id);
      if (task === null) throw new TaskNotFoundError("wait for", id);
      if (isFinished(task)) return task;
      signal?.throwIfAborted();
      const left = deadline - core.now();
      if (left <= 0) throw new WaitTimeoutError(id, timeoutMs, task.status);
      await sleep.sleep(Math.min(pollIntervalMs, left), signal);
      signal?.throwIfAborted();
    }
  } finally {
    for (const unsubscribe of off) unsubscribe();
    sleep.close();
  }
}
