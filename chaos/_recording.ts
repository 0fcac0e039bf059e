/**
 * Writing a history: {@linkcode Recorder} appends one JSON line per event to a file of its
 * process (no fsync: a SIGKILL may cut the last lines, which the counting allows for), and
 * {@linkcode recordingQueue} wraps the queue a Worker uses so that every claim, heartbeat,
 * completion and failure it makes is recorded with its outcome.
 *
 * @module
 */

import { appendFileSync } from "node:fs";
import process from "node:process";
import type { Task, WorkerQueue } from "../mod.ts";
import { errorKind, type HistoryEvent } from "./_history.ts";

/** Appends events to one file. */
export class Recorder {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Records one event (time and pid added). */
  log(event: Omit<HistoryEvent, "t" | "pid">): void {
    const line = JSON.stringify({ t: Date.now(), pid: process.pid, ...event });
    appendFileSync(this.path, line + "\n");
  }

  /** Records the invoke, runs `fn`, records ok or fail; rethrows. */
  async call<T>(
    event: Omit<HistoryEvent, "t" | "pid" | "type">,
    fn: () => Promise<T>,
    onOk: (value: T) => Partial<HistoryEvent> = () => ({}),
  ): Promise<T> {
    this.log({ ...event, type: "invoke" });
    try {
      const value = await fn();
      this.log({ ...event, type: "ok", ...onOk(value) });
      return value;
    } catch (error) {
      this.log({ ...event, type: "fail", error: describe(error), kind: errorKind(error) });
      throw error;
    }
  }
}

/** An error in one line. */
export function describe(error: unknown): string {
  try {
    const e = error as { name?: unknown; code?: unknown; message?: unknown };
    if (error instanceof Error) {
      return `${e.name}${typeof e.code === "string" ? `(${e.code})` : ""}: ${String(e.message)}`;
    }
    return String(error).slice(0, 200);
  } catch {
    return "(unprintable)";
  }
}

/** `queue` with every call of a worker recorded in `recorder`. */
export function recordingQueue(queue: WorkerQueue, recorder: Recorder): WorkerQueue {
  const run = (task: Task) => ({ id: task.id, attempt: task.attempts });
  const lease = (task: Task) => ({
    ...(task.leaseExpiresAt !== null ? { leaseUntil: task.leaseExpiresAt } : {}),
  });
  return {
    logger: queue.logger,
    ...(queue.clock ? { clock: queue.clock } : {}),
    ...(queue.notifier ? { notifier: queue.notifier } : {}),
    dequeueMany: async (limit, options, control) => {
      recorder.log({ op: "claim", type: "invoke" });
      try {
        const tasks = await queue.dequeueMany(limit, options, control);
        for (const task of tasks) {
          recorder.log({
            op: "claim",
            type: "ok",
            ...run(task),
            ...lease(task),
            ...(task.startedAt !== null ? { startedAt: task.startedAt } : {}),
          });
        }
        return tasks;
      } catch (error) {
        recorder.log({ op: "claim", type: "fail", error: describe(error), kind: errorKind(error) });
        throw error;
      }
    },
    heartbeat: (task) =>
      recorder.call({ op: "heartbeat", ...run(task) }, () => queue.heartbeat(task), lease),
    progress: (task, value) => queue.progress(task, value),
    completeTask: (task, result) =>
      recorder.call({ op: "complete", ...run(task) }, () => queue.completeTask(task, result)),
    failTask: (task, error, options) =>
      recorder.call({ op: "fail", ...run(task) }, () => queue.failTask(task, error, options)),
    release: (task) => recorder.call({ op: "release", ...run(task) }, () => queue.release(task)),
    cancelRequested: (ids) => queue.cancelRequested(ids),
    maintain: () => queue.maintain(),
  };
}
