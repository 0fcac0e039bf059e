/**
 * Remote workers: {@linkcode HttpQueueClient} speaks the worker endpoints of a queue served by
 * `createQueueApp`, and {@linkcode HttpWorker} runs the same handlers as an in-process
 * {@linkcode Worker} (timeouts, heartbeats, cancellation, graceful stop) against it. Uses only
 * `fetch`: nothing of Hono is loaded.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import { LeaseLostError, TaskNotFoundError, TaskStateError, ValidationError } from "../errors.ts";
import { failureMessage } from "../_failure.ts";
import { type Logger, silentLogger } from "../logger.ts";
import type { DequeueOptions, FailOptions } from "../queue.ts";
import type { Task } from "../task.ts";
import { Worker, type WorkerOptions, type WorkerQueue } from "../worker.ts";

/** Where the queue is served, and how to authenticate. */
export interface HttpQueueOptions {
  /** The sub-app's base URL, such as `http://127.0.0.1:8080/queue`. */
  url: string | URL;
  /** A bearer token with the write scope. */
  token?: string;
  /**
   * How long a claim waits on the server for a task to become due before answering empty.
   *
   * @default {10_000}
   */
  waitMs?: number;
  /**
   * The `fetch` to use (tests, proxies, custom agents).
   *
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * Where the worker logs. Quiet by default.
   *
   * @default {silentLogger}
   */
  logger?: Logger;
  /**
   * The clock of the worker's timers (poll interval, heartbeats, timeouts, stop grace).
   *
   * @default {systemClock}
   */
  clock?: Clock;
}

/** An error the server answered with that is not one of the queue's named errors. */
export class HttpQueueError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The API's error code. */
  readonly code: string;
  /**
   * Creates the error.
   *
   * @param status The HTTP status.
   * @param code The API's error code.
   * @param message The API's message.
   */
  constructor(status: number, code: string, message: string) {
    super(`HTTP ${status} ${code}: ${message}`);
    this.name = "HttpQueueError";
    this.status = status;
    this.code = code;
  }
}

/**
 * The worker side of a queue, over HTTP.
 *
 * @example Claim and complete by hand
 * ```ts ignore
 * import { HttpQueueClient } from "@tasklite/tasklite";
 *
 * const client = new HttpQueueClient({ url: "http://127.0.0.1:8080/queue", token: "secret-token" });
 * const [task] = await client.dequeueMany(1, { taskTypes: ["send_email"] });
 * if (task) await client.completeTask(task, { sent: true });
 * ```
 */
export class HttpQueueClient implements WorkerQueue {
  /** Where the worker logs. */
  readonly logger: Logger;
  /** The clock of the worker's timers. */
  readonly clock: Clock;
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #waitMs: number;
  readonly #fetch: typeof fetch;

  /**
   * Creates a client; it connects on first use.
   *
   * @param options The server and the token.
   */
  constructor(options: HttpQueueOptions) {
    const url = new URL(String(options.url));
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ValidationError(`Invalid queue URL: ${url} (http or https)`);
    }
    const waitMs = options.waitMs ?? 10_000;
    if (!(Number.isInteger(waitMs) && waitMs >= 0 && waitMs <= 30_000)) {
      throw new RangeError("Invalid client options: waitMs must be an integer from 0 to 30000");
    }
    this.#base = url.href.replace(/\/+$/, "");
    this.#headers = {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    };
    this.#waitMs = waitMs;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
  }

  async #post<T>(path: string, body: unknown, taskId?: number, signal?: AbortSignal): Promise<T> {
    const response = await this.#fetch(`${this.#base}${path}`, {
      method: "POST",
      headers: this.#headers,
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
    const payload = await response.json().catch(() => null);
    if (response.ok) return payload as T;
    const { code = "unknown", message = response.statusText } = payload?.error ?? {};
    if (code === "lease_lost") throw new LeaseLostError("update", taskId ?? 0, message);
    if (response.status === 404 && taskId !== undefined) {
      throw new TaskNotFoundError("update", taskId);
    }
    if (code === "conflict") throw new TaskStateError("update", taskId ?? 0, null, message);
    if (code === "bad_request") throw new ValidationError(message);
    throw new HttpQueueError(response.status, code, message);
  }

  /**
   * Claims up to `limit` tasks, waiting on the server up to `waitMs` for one to become due.
   *
   * @param limit How many at most.
   * @param options Task types, lease, worker id.
   * @param control `signal` aborts the claim; `wait: false` answers at once.
   * @returns The claimed tasks.
   */
  async dequeueMany(
    limit: number,
    options: DequeueOptions = {},
    control: { signal?: AbortSignal; wait?: boolean } = {},
  ): Promise<Task[]> {
    const waitMs = control.wait === false ? 0 : this.#waitMs;
    const { tasks } = await this.#post<{ tasks: Task[] }>(
      "/worker/claim",
      { limit, waitMs, ...options },
      undefined,
      control.signal,
    );
    return tasks;
  }

  /**
   * Extends a lease.
   *
   * @param task The claimed task.
   * @returns The task with its new lease.
   */
  heartbeat(task: Task): Promise<Task> {
    return this.#post(`/worker/tasks/${task.id}/heartbeat`, { attempts: task.attempts }, task.id);
  }

  /**
   * Records progress.
   *
   * @param task The claimed task.
   * @param progress A number or JSON data.
   * @returns The task.
   */
  progress(task: Task, progress: unknown): Promise<Task> {
    return this.#post(
      `/worker/tasks/${task.id}/progress`,
      { attempts: task.attempts, progress },
      task.id,
    );
  }

  /**
   * Completes a claimed task.
   *
   * @param task The claimed task.
   * @param result JSON data.
   * @returns The completed task.
   */
  completeTask(task: Task, result?: unknown): Promise<Task> {
    return this.#post(
      `/worker/tasks/${task.id}/complete`,
      { attempts: task.attempts, ...(result === undefined ? {} : { result }) },
      task.id,
    );
  }

  /**
   * Fails an attempt.
   *
   * @param task The claimed task.
   * @param error What went wrong.
   * @param options Retry or not, and the delay.
   * @returns The task after the failure.
   */
  failTask(task: Task, error: string | Error, options: FailOptions = {}): Promise<Task> {
    return this.#post(
      `/worker/tasks/${task.id}/fail`,
      { attempts: task.attempts, error: failureMessage(error), ...options },
      task.id,
    );
  }

  /**
   * Gives a claim back.
   *
   * @param task The claimed task.
   * @returns The pending task.
   */
  release(task: Task): Promise<Task> {
    return this.#post(`/worker/tasks/${task.id}/release`, { attempts: task.attempts }, task.id);
  }

  /**
   * Of these running tasks, the ones asked to cancel.
   *
   * @param ids Task ids.
   * @returns The ids to abort.
   */
  async cancelRequested(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    return (await this.#post<{ ids: number[] }>("/worker/cancellations", { ids })).ids;
  }

  /**
   * Asks the server to fire due schedules and apply retention. An `HttpWorker` does not call it:
   * the server runs upkeep itself when workers claim.
   *
   * @returns What it did.
   */
  maintain(): Promise<unknown> {
    return this.#post("/worker/maintain", {});
  }
}

/** Options of an {@linkcode HttpWorker}: the server, and the usual worker options. */
export type HttpWorkerOptions = HttpQueueOptions & WorkerOptions;

/**
 * A {@linkcode Worker} that claims from a queue served over HTTP. Idle, it long-polls the server
 * (`waitMs`) rather than hammering it; busy, it checks for cancellations once per
 * `pollIntervalMs` (default 1 s). It leaves upkeep (schedules, retention) to the server, which
 * runs it as workers claim.
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
  /**
   * Creates the worker; it does nothing until `start()` or `tick()`.
   *
   * @param options The server, the token, the handlers and the tuning.
   */
  constructor(options: HttpWorkerOptions) {
    super(new HttpQueueClient(options), { maintenance: false, ...options });
  }
}
