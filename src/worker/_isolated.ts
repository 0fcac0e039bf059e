/**
 * The main side of isolated handlers (see `src/isolated.ts`): one `node:worker_threads` thread
 * per run, loaded by dynamic import when the first isolated run starts. The thread
 * (`_isolated_thread.ts`) imports the handler's module, runs the handler and posts its outcome;
 * progress and heartbeats cross as messages and are done here, on the worker's context. The run's
 * abort terminates the thread; the handler's promise settles once the thread is gone.
 *
 * Payload, task and result cross by structured clone.
 *
 * @module
 */

import { failureMessage } from "../_failure.ts";
import { PermanentError, RetryableError } from "../errors.ts";
import type { TaskContext, TaskHandler } from "../worker_options.ts";

/** What the thread is told at its start (its `workerData`). */
export interface ThreadStart {
  /** The handler's module, as an absolute URL. */
  readonly module: string;
  /** The export that is the handler. */
  readonly export: string;
  readonly payload: unknown;
  readonly task: TaskContext["task"];
  readonly workerId: string;
}

/** How a thrown error's class crosses (the classes the retry decision reads). */
export const ERROR_KINDS = {
  retryable: "retryable",
  permanent: "permanent",
  other: "other",
} as const;

/** A message from the thread. */
export type ThreadMessage =
  | { readonly kind: "result"; readonly value: unknown }
  | {
    readonly kind: "error";
    readonly message: string;
    readonly name: string;
    readonly errorKind: keyof typeof ERROR_KINDS;
    readonly delayMs?: number | undefined;
  }
  | { readonly kind: "progress"; readonly id: number; readonly value: unknown }
  | { readonly kind: "heartbeat"; readonly id: number };

/** The answer to a thread's progress or heartbeat. */
export interface ThreadReply {
  readonly id: number;
  /** Why it failed (`undefined`: done). */
  readonly error?: string;
}

/** The handlers `isolated()` made, with their module and export. */
const SPECS = new WeakMap<TaskHandler, { module: string; export: string }>();

/** Whether a handler is an isolated one (its timeout says the thread was terminated). */
export function isIsolated(handler: TaskHandler | undefined): boolean {
  return handler !== undefined && SPECS.has(handler);
}

type WorkerThreads = typeof import("node:worker_threads");
let threads: Promise<WorkerThreads> | undefined;

/**
 * The handler that runs `module`'s export `name` in a thread.
 *
 * @param module The module's absolute URL.
 * @param name The export's name.
 * @returns The handler, recognised by {@linkcode isIsolated}.
 */
export function isolatedHandler(module: string, name: string): TaskHandler {
  const handler: TaskHandler = (payload, context) =>
    runInThread(
      { module, export: name, payload, task: context.task, workerId: context.workerId },
      context,
    );
  SPECS.set(handler, { module, export: name });
  return handler;
}

/**
 * The thread's file beside this one: `.js` in the npm package's build, `.ts` from source. Read when
 * a thread starts, not at load: a bundle (a Durable Object's Worker) has no `import.meta.url`.
 */
const threadFile = (): URL =>
  new URL(
    new URL(import.meta.url).pathname.endsWith(".js")
      ? "./_isolated_thread.js"
      : "./_isolated_thread.ts",
    import.meta.url,
  );

async function runInThread(start: ThreadStart, context: TaskContext): Promise<unknown> {
  const { signal } = context;
  if (signal.aborted) throw signal.reason;
  const { Worker } = await (threads ??= import("node:worker_threads"));
  if (signal.aborted) throw signal.reason;
  const thread = new Worker(threadFile(), { workerData: start });
  return await new Promise<unknown>((resolve, reject) => {
    let over = false;
    const end = (settle: () => void) => {
      if (over) return;
      over = true;
      signal.removeEventListener("abort", onAbort);
      // Settles once the thread is gone: its slot is not freed while it still runs.
      thread.terminate().then(settle, settle);
    };
    const onAbort = () => end(() => reject(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    thread.on("message", (message: ThreadMessage) => {
      if (over) return;
      switch (message.kind) {
        case "result":
          return end(() => resolve(message.value));
        case "error":
          return end(() => reject(rebuild(message)));
        case "progress":
          return answer(thread, message.id, () => context.progress(message.value));
        case "heartbeat":
          return answer(thread, message.id, () => context.heartbeat());
      }
    });
    thread.on("error", (error: unknown) => end(() => reject(new Error(failureMessage(error)))));
    thread.on("exit", (code: number) => {
      if (over) return;
      over = true;
      signal.removeEventListener("abort", onAbort);
      reject(new Error(`Isolated handler exited with code ${code} before it returned`));
    });
  });
}

/** Does a thread's progress or heartbeat here and posts the outcome back. */
function answer(
  thread: { postMessage(value: ThreadReply): void },
  id: number,
  call: () => Promise<void>,
): void {
  const post = (reply: ThreadReply) => {
    try {
      thread.postMessage(reply);
    } catch {
      // The thread is gone.
    }
  };
  call().then(
    () => post({ id }),
    (error: unknown) => post({ id, error: failureMessage(error) }),
  );
}

/** The error a thread reported, of the class the retry decision reads. */
function rebuild(message: Extract<ThreadMessage, { kind: "error" }>): Error {
  const error = message.errorKind === "retryable"
    ? new RetryableError(
      message.message,
      message.delayMs === undefined ? {} : { delayMs: message.delayMs },
    )
    : message.errorKind === "permanent"
    ? new PermanentError(message.message)
    : new Error(message.message);
  if (message.errorKind === "other") error.name = message.name;
  return error;
}
