/**
 * Graceful shutdown on SIGINT/SIGTERM, on Deno, Bun and Node.js alike (through `node:process`).
 *
 * @module
 */

import process from "node:process";
import type { Worker } from "./worker.ts";

/** Options of {@linkcode shutdownOnSignals}. */
export interface ShutdownOptions {
  /**
   * The signals to handle.
   *
   * @default {["SIGINT", "SIGTERM"]}
   */
  signals?: readonly ("SIGINT" | "SIGTERM" | "SIGHUP")[];
  /**
   * How long running tasks get before they are aborted and given back.
   *
   * @default {30_000}
   */
  timeoutMs?: number;
  /** Called after the workers stopped (close the queue here). */
  onShutdown?: () => void | Promise<void>;
  /**
   * Whether to exit the process afterwards (code 0, or 1 if shutting down threw).
   *
   * @default {true}
   */
  exit?: boolean;
}

/**
 * Stops workers gracefully when the process is asked to stop: on the first signal the workers
 * stop claiming and get `timeoutMs` to finish; then `onShutdown` runs and the process exits. A
 * second signal exits at once (code 130 for SIGINT, 143 for SIGTERM).
 *
 * @example Usage
 * ```ts ignore
 * import { shutdownOnSignals, TaskQueue, Worker } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open("tasks.db");
 * const worker = new Worker(queue, { handlers: { job: () => "ok" } });
 * worker.start();
 * shutdownOnSignals(worker, { timeoutMs: 10_000, onShutdown: () => queue.close() });
 * ```
 *
 * @param workers One worker or several.
 * @param options Signals, grace period, and what to do after.
 * @returns A function that removes the signal handlers.
 */
export function shutdownOnSignals(
  workers: Worker | readonly Worker[],
  options: ShutdownOptions = {},
): () => void {
  const list = Array.isArray(workers) ? workers : [workers as Worker];
  const { signals = ["SIGINT", "SIGTERM"], timeoutMs = 30_000, exit = true } = options;
  let shuttingDown = false;
  const handler = async (signal: string) => {
    if (shuttingDown) {
      // A second signal: the operator does not want to wait.
      if (exit) process.exit(signal === "SIGINT" ? 130 : 143);
      return;
    }
    shuttingDown = true;
    let code = 0;
    try {
      await Promise.all(list.map((worker) => worker.stop({ timeoutMs })));
      await options.onShutdown?.();
    } catch {
      code = 1;
    }
    remove();
    if (exit) process.exit(code);
  };
  for (const signal of signals) process.on(signal, handler);
  const remove = () => {
    for (const signal of signals) process.off(signal, handler);
  };
  return remove;
}
