/**
 * {@linkcode HttpWorker}: runs the same handlers as an in-process {@linkcode Worker} (timeouts,
 * heartbeats, cancellation, graceful stop) against a queue served over HTTP, and fails loudly: a
 * refused token stops it, an unreachable server is waited out with backoff and reported once.
 * Uses only `fetch`: nothing of Hono is loaded.
 *
 * @module
 */

import { consoleLogger, type Logger } from "../logger.ts";
import type { Task } from "../task.ts";
import { Worker, type WorkerOptions } from "../worker.ts";
import { HttpQueueClient, type HttpQueueError, type HttpQueueOptions } from "./client.ts";
import { ServerLink } from "./_link.ts";

/** Options of an {@linkcode HttpWorker}: the server, and the usual worker options. */
export interface HttpWorkerOptions extends HttpQueueOptions, WorkerOptions {
  /**
   * Where the worker logs. A remote worker usually runs alone, so by default it writes its
   * warnings and errors (a refused token, an outage, a lost lease) to the console as JSON lines;
   * pass `silentLogger` to quiet it, or `consoleLogger("info")` to see "reconnected" too.
   *
   * @default {consoleLogger("warn")}
   */
  logger?: Logger;
}

/**
 * A {@linkcode Worker} that claims from a queue served over HTTP. Idle, it long-polls the server
 * (`waitMs`) rather than hammering it; busy, it checks for cancellations once per
 * `pollIntervalMs` (default 1 s). It leaves upkeep (schedules, retention) to the server, which
 * runs it as workers claim.
 *
 * It fails loudly:
 * - A 401 or 403 (a wrong token, or one without the write scope) stops it: the error, an
 *   {@linkcode HttpQueueError} whose `status` is 401 or 403, is logged at error (with the default
 *   logger too), goes to `onError` when one is given, and `tick()` rejects with it. Its running
 *   tasks are aborted (they could not be recorded). `start()` again tries again.
 * - While the server does not answer (connection refused or reset, a name that does not resolve)
 *   or answers 5xx, its claims wait 1 s, 2 s, 4 s … up to 30 s between tries, on its clock. The
 *   outage is logged once at warn, and "Reconnected to the queue server" at info when a call gets
 *   through. Heartbeats and cancel checks that fail meanwhile are not reported one by one; a
 *   completion that fails is (its result is lost: the task runs again once its lease expires).
 *
 * @example A remote worker
 * ```ts ignore
 * import { HttpWorker, shutdownOnSignals } from "@tasklite/tasklite";
 *
 * const worker = new HttpWorker({
 *   url: "http://127.0.0.1:8080/queue",
 *   token: Deno.env.get("TASKLITE_TOKEN"),
 *   handlers: { send_email: async (payload) => ({ sent: payload.to }) },
 *   concurrency: 4,
 * });
 * worker.start();
 * shutdownOnSignals(worker);
 * ```
 */
export class HttpWorker extends Worker {
  readonly #link: ServerLink;
  readonly #logger: Logger;
  readonly #url: string;
  readonly #onError: ((error: unknown, task: Task | null) => void) | undefined;
  /** The refusal that stopped the current run. */
  #refusal: HttpQueueError | null = null;
  /** The stop it started. */
  #stopping: Promise<void> | null = null;

  /**
   * Creates the worker; it does nothing until `start()` or `tick()`.
   *
   * @param options The server, the token, the handlers and the tuning.
   */
  constructor(options: HttpWorkerOptions) {
    const logger = options?.logger ?? consoleLogger("warn");
    const client = new HttpQueueClient({ ...options, logger });
    const url = String(options.url);
    // The link reports to the worker, which exists only after super().
    const self: { worker: HttpWorker | null } = { worker: null };
    const link = new ServerLink(client, url, {
      refused: (error) => void (self.worker && self.worker.#refuse(error)),
    });
    super(link, {
      maintenance: false,
      ...options,
      onError: (error, task) => void (self.worker && self.worker.#report(error, task)),
    });
    self.worker = this;
    this.#link = link;
    this.#logger = logger;
    this.#url = url;
    this.#onError = options.onError;
  }

  /**
   * Starts polling (see {@linkcode Worker.start}); a 401 or 403 stops it again.
   */
  override start(): void {
    this.#refusal = null;
    this.#link.reset();
    super.start();
  }

  /**
   * Processes what is due now and returns (see {@linkcode Worker.tick}).
   *
   * @returns How many tasks it ran.
   * @throws {HttpQueueError} The server refused the token (status 401 or 403).
   */
  override async tick(): Promise<number> {
    this.#refusal = null;
    this.#link.reset();
    const ran = await super.tick();
    await this.#stopping;
    if (this.#refusal) throw this.#refusal;
    return ran;
  }

  #refuse(error: HttpQueueError): void {
    this.#refusal = error;
    this.#logger.error("Worker stopped: the queue server refused its token", {
      workerId: this.id,
      url: this.#url,
      status: error.status,
      error: error.message,
    });
    this.#onError?.(error, null);
    // Nothing can be claimed or recorded: stop now, aborting what runs.
    const stopping = this.stop({ timeoutMs: 0 });
    this.#stopping = stopping;
    void stopping.finally(() => {
      if (this.#stopping === stopping) this.#stopping = null;
    });
  }

  #report(error: unknown, task: Task | null): void {
    if (this.#link.reported(error)) return;
    if (this.#onError) return this.#onError(error, task);
    this.#logger.error("Worker error", {
      workerId: this.id,
      taskId: task?.id,
      error: String(error),
    });
  }
}
