/**
 * {@linkcode isolated}: a handler that runs in a worker thread of its own, terminated when its
 * run ends early (its time limit, a cancel, a lost lease, the end of `stop()`'s grace). A
 * synchronously busy handler (`while (true) {}`) then neither blocks the worker's process nor
 * outlives its time limit.
 *
 * @module
 */

import type { Task } from "./task.ts";
import type { TaskHandler } from "./worker_options.ts";
import { isolatedHandler } from "./worker/_isolated.ts";

/** Where an isolated handler's module keeps its handler. */
export interface IsolatedOptions {
  /**
   * The name of the module's export that is the handler.
   *
   * @default {"default"}
   */
  export?: string;
}

/**
 * What an isolated handler gets besides the payload, inside its thread. There is no `signal`:
 * an isolated run is cancelled by terminating its thread, so code after that point never runs
 * (no `finally`, no cleanup): keep side effects idempotent, as for any crash.
 */
export interface IsolatedContext {
  /** The task as claimed (a structured clone). */
  readonly task: Task;
  /** The worker running it. */
  readonly workerId: string;
  /**
   * Records progress (a number or JSON data) through the worker; rejects if the queue refuses it.
   */
  progress(value: unknown): Promise<void>;
  /**
   * Extends the lease now. Rarely needed: the worker's main thread heartbeats the lease anyway,
   * however busy the handler's thread is.
   */
  heartbeat(): Promise<void>;
}

/**
 * The handler an isolated module exports: gets the payload (a structured clone), returns the
 * result (structured-cloned back, then stored as JSON) or throws to fail the attempt.
 * {@linkcode RetryableError} and {@linkcode PermanentError} keep their meaning when the module
 * imports them from this package.
 */
// deno-lint-ignore no-explicit-any
export type IsolatedTaskHandler = (payload: any, context: IsolatedContext) => unknown;

/**
 * A handler that runs the module's handler in a worker thread (`node:worker_threads`: Deno, Bun
 * and Node.js), one new thread per run. Use it as a handler, or as the `handler` of a
 * definition with a `timeoutMs`: the worker terminates the thread when the run's time limit
 * passes (the task's `timeoutMs`, its type's, else the worker's `maxRunMs`), the attempt failing
 * with `Task 42 timed out after 500 ms (isolated handler terminated)` and retried as usual; a
 * cancel, a lost lease or the end of `stop()`'s grace terminate it too. A throw fails the attempt
 * with its message; a thread that exits (`process.exit`) before returning fails it as well. Its
 * lease is heartbeated by the worker's main thread, which a busy handler cannot block.
 *
 * Starting a thread and loading the module costs tens of milliseconds per run: isolate handlers
 * that may block or hang, not every small task.
 *
 * @example A CPU-bound handler with a hard time limit
 * ```ts ignore
 * // resize.ts
 * export default (payload: { width: number }) => ({ resized: payload.width });
 *
 * // worker.ts
 * import { isolated, TaskQueue, Worker } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open("tasks.db");
 * const worker = new Worker(queue, {
 *   handlers: {
 *     resize: { handler: isolated(new URL("./resize.ts", import.meta.url)), timeoutMs: 30_000 },
 *     thumbnail: isolated(new URL("./images.ts", import.meta.url), { export: "thumbnail" }),
 *   },
 * });
 * worker.start();
 * ```
 *
 * @example Bad arguments are refused at once
 * ```ts
 * import { isolated } from "@tasklite/tasklite";
 *
 * try {
 *   isolated("./resize.ts");
 * } catch (error) {
 *   console.log(error instanceof TypeError); // true: a relative path has no base
 * }
 * ```
 *
 * @param module The module's URL (`new URL("./file.ts", import.meta.url)`), or an absolute URL
 * string.
 * @param options Which export is the handler.
 * @returns A handler for a worker's `handlers`.
 * @throws {TypeError} A module that is not an absolute URL, an export name that is not a
 * non-empty string.
 */
export function isolated(module: URL | string, options: IsolatedOptions = {}): TaskHandler {
  let url: URL;
  try {
    url = new URL(module);
  } catch (cause) {
    throw new TypeError(
      `Invalid isolated handler: module must be a URL or an absolute URL string, got ${
        JSON.stringify(String(module))
      } (use new URL("./file.ts", import.meta.url))`,
      { cause },
    );
  }
  const name = options?.export ?? "default";
  if (typeof name !== "string" || name === "") {
    throw new TypeError("Invalid isolated handler: export must be a non-empty string");
  }
  return isolatedHandler(url.href, name);
}
