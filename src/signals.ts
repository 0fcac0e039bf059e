/**
 * Graceful shutdown on SIGINT/SIGTERM, on Deno, Bun and Node.js alike (through `node:process`,
 * which is loaded only when {@linkcode shutdownOnSignals} is called, so that importing the module
 * touches no `node:` builtin).
 *
 * @module
 */

import type { Worker } from "./worker.ts";

/** The part of `node:process` that signal handling needs. */
interface SignalProcess {
  on(signal: string, listener: (signal: string) => void): unknown;
  off(signal: string, listener: (signal: string) => void): unknown;
  exit(code: number): void;
}

const isSignalProcess = (value: unknown): value is SignalProcess =>
  typeof (value as SignalProcess | undefined)?.on === "function" &&
  typeof (value as SignalProcess).off === "function" &&
  typeof (value as SignalProcess).exit === "function";

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
  let process: SignalProcess | null = null;
  let removed = false;
  let shuttingDown = false;
  const handler = async (signal: string) => {
    if (shuttingDown) {
      // A second signal: the operator does not want to wait.
      if (exit) process?.exit(signal === "SIGINT" ? 130 : 143);
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
    if (exit) process?.exit(code);
  };
  const attach = (found: SignalProcess) => {
    if (removed) return;
    process = found;
    for (const signal of signals) found.on(signal, handler);
  };
  const remove = () => {
    removed = true;
    if (process) { for (const signal of signals) process.off(signal, handler); }
  };
  // Deno 2, Bun and Node.js have the process global: the handlers are in place before this
  // returns, so a signal sent right after is never missed. Elsewhere, load node:process.
  const global = (globalThis as { process?: unknown }).process;
  if (isSignalProcess(global)) {
    attach(global);
  } else {
    import("node:process").then(
      (module) => attach(module.default as unknown as SignalProcess),
      () => {}, // No node:process (workerd without nodejs_compat): no signals to handle.
    );
  }
  return remove;
}
