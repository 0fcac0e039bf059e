/**
 * The thread of an isolated handler (started by `_isolated.ts`, never imported): imports the
 * handler's module, calls its export with the payload and a context whose progress and
 * heartbeat are messages to the worker, and posts the result or the error. Everything it throws
 * is caught and posted, so that no runtime prints an uncaught error of the thread.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { failureMessage } from "../_failure.ts";
import { PermanentError, RetryableError } from "../errors.ts";
import type { ThreadMessage, ThreadReply, ThreadStart } from "./_isolated.ts";
import type { IsolatedContext } from "../isolated.ts";

const start = workerData as ThreadStart;
const port = parentPort!;
const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
let nextId = 0;

port.on("message", (reply: ThreadReply) => {
  const call = pending.get(reply.id);
  if (!call) return;
  pending.delete(reply.id);
  if (reply.error === undefined) call.resolve();
  else call.reject(new Error(reply.error));
});

/** Asks the worker to do a progress or heartbeat; settles with its answer. */
function ask(message: (id: number) => ThreadMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    try {
      port.postMessage(message(id));
    } catch (error) {
      pending.delete(id);
      reject(error); // a value that cannot be cloned
    }
  });
}

const context: IsolatedContext = {
  task: start.task,
  workerId: start.workerId,
  progress: (value) => ask((id) => ({ kind: "progress", id, value })),
  heartbeat: () => ask((id) => ({ kind: "heartbeat", id })),
};

function post(message: ThreadMessage): void {
  port.postMessage(message);
}

function postError(error: unknown): void {
  const kind = isA(error, RetryableError)
    ? "retryable"
    : isA(error, PermanentError)
    ? "permanent"
    : "other";
  let name = "Error";
  try {
    if (error instanceof Error && typeof error.name === "string") name = error.name;
  } catch {
    // A name getter that throws.
  }
  post({
    kind: "error",
    message: failureMessage(error),
    name,
    errorKind: kind,
    ...(kind === "retryable" ? { delayMs: (error as RetryableError).delayMs } : {}),
  });
}

function isA<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

try {
  const module = await import(start.module);
  const handler: unknown = module[start.export];
  if (typeof handler !== "function") {
    throw new TypeError(
      `Isolated handler module ${start.module} has no function export "${start.export}"`,
    );
  }
  const value = await handler(start.payload, context);
  try {
    post({ kind: "result", value });
  } catch (error) {
    // A result that structured clone cannot copy (a function, a class with private state).
    postError(
      new TypeError(
        `Isolated handler returned a value that cannot be copied: ${failureMessage(error)}`,
      ),
    );
  }
} catch (error) {
  postError(error);
}
