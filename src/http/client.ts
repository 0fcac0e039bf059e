/**
 * The worker side of a queue over HTTP: {@linkcode HttpQueueClient} speaks the worker endpoints
 * of a queue served by `createQueueApp` (the `HttpWorker` of `http_worker.ts` runs handlers
 * against it), and {@linkcode HttpQueueError} is how it fails. Uses only `fetch`: nothing of Hono
 * is loaded.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import {
  LeaseLostError,
  TaskNotFoundError,
  TaskStateError,
  ValidationError,
  WaitTimeoutError,
} from "../errors.ts";
import type { TaskExplanation } from "../core/explain.ts";
import { failureMessage } from "../_failure.ts";
import { type Logger, silentLogger } from "../logger.ts";
import type {
  DequeueOptions,
  FailOptions,
  WaitOptions,
  WorkerInfo,
  WorkerRegistration,
} from "../queue.ts";
import type { Task } from "../task.ts";
import type { WorkerQueue } from "../worker_options.ts";

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

/**
 * An HTTP failure that is not one of the queue's named errors: the server answered with an error
 * status (`status`, and the API's `code`), or did not answer at all (`status` 0, `code`
 * `"unreachable"`: the connection was refused or broke off, the name did not resolve; the
 * `fetch` error is the `cause`). An `HttpWorker` stops on 401 and 403 (a wrong token, or
 * one without the write scope) and waits out 0 and 5xx with backoff.
 *
 * @example Telling a refused token from an outage
 * ```ts ignore
 * import { HttpQueueClient, HttpQueueError } from "@tasklite/tasklite";
 *
 * const client = new HttpQueueClient({ url: "http://127.0.0.1:8080/queue", token: "wrong" });
 * try {
 *   await client.dequeueMany(1, { taskTypes: ["send_email"] }, { wait: false });
 * } catch (error) {
 *   if (error instanceof HttpQueueError && error.status === 401) console.error("bad token");
 *   else if (error instanceof HttpQueueError && error.status === 0) console.error("server down");
 *   else throw error;
 * }
 * ```
 */
export class HttpQueueError extends Error {
  /** The HTTP status; 0 when the server did not answer. */
  readonly status: number;
  /** The API's error code; `"unreachable"` when the server did not answer. */
  readonly code: string;
  /**
   * Creates the error.
   *
   * @param status The HTTP status, or 0 for no answer.
   * @param code The API's error code.
   * @param message The API's message (for no answer: what went wrong).
   * @param options Standard error options, such as `cause`.
   */
  constructor(status: number, code: string, message: string, options?: ErrorOptions) {
    super(status === 0 ? message : `HTTP ${status} ${code}: ${message}`, options);
    this.name = "HttpQueueError";
    this.status = status;
    this.code = code;
  }
}

/** The verb of a lease-fenced route, as the queue's errors name it (`Cannot <verb> task 1: …`). */
type Action =
  | "heartbeat"
  | "report progress of"
  | "complete"
  | "fail"
  | "release"
  | "explain"
  | "wait for";

/** The longest a server holds one `GET /tasks/:id/wait`; `waitFor` asks again until its end. */
const LONG_POLL_MS = 30_000;

/**
 * The server's message without its own `Cannot <verb> task <id>: ` prefix, which the named error
 * built here adds again.
 */
function reasonOf(message: string, taskId: number): string {
  const prefix = new RegExp(`^Cannot [^:]+ task ${taskId}: `);
  return message.replace(prefix, "");
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const text = error instanceof Error ? error.message : String(error);
  // Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND) is its cause.
  return cause instanceof Error && cause.message !== "" ? `${text} (${cause.message})` : text;
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

  #post<T>(
    path: string,
    body: unknown,
    task?: { id: number; action: Action },
    signal?: AbortSignal,
  ): Promise<T> {
    return this.#request("POST", path, body, task, signal);
  }

  async #request<T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    task?: { id: number; action: Action },
    signal?: AbortSignal,
  ): Promise<T> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: this.#headers,
        ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new HttpQueueError(
        0,
        "unreachable",
        `Cannot reach ${this.#base}: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    let payload: { error?: { code?: string; message?: string } } | null;
    try {
      payload = await response.json();
    } catch (error) {
      if (signal?.aborted) throw error;
      payload = null;
      if (response.ok) {
        throw new HttpQueueError(0, "unreachable", `The answer of ${this.#base} broke off`, {
          cause: error,
        });
      }
    }
    if (response.ok) return payload as T;
    const { code = "unknown", message = response.statusText } = payload?.error ?? {};
    if (task !== undefined) {
      const reason = reasonOf(message, task.id);
      if (code === "lease_lost") throw new LeaseLostError(task.action, task.id, reason);
      if (response.status === 404) throw new TaskNotFoundError(task.action, task.id);
      if (code === "conflict") throw new TaskStateError(task.action, task.id, null, reason);
    }
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
    return this.#post(`/worker/tasks/${task.id}/heartbeat`, { attempts: task.attempts }, {
      id: task.id,
      action: "heartbeat",
    });
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
      { id: task.id, action: "report progress of" },
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
      { id: task.id, action: "complete" },
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
      { id: task.id, action: "fail" },
    );
  }

  /**
   * Gives a claim back.
   *
   * @param task The claimed task.
   * @returns The pending task.
   */
  release(task: Task): Promise<Task> {
    return this.#post(`/worker/tasks/${task.id}/release`, { attempts: task.attempts }, {
      id: task.id,
      action: "release",
    });
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

  /**
   * Records the worker in the server's worker registry, or its beat. Its beats come between long
   * polls, so the interval it registers includes the client's `waitMs`.
   *
   * @param registration Who the worker is.
   * @returns When recorded.
   */
  async registerWorker(registration: WorkerRegistration): Promise<void> {
    const beatIntervalMs = registration.beatIntervalMs + this.#waitMs;
    await this.#post("/worker/register", { ...registration, beatIntervalMs });
  }

  /**
   * Removes the worker from the server's registry.
   *
   * @param id The worker's id.
   * @returns `false` if it was not registered.
   */
  async deregisterWorker(id: string): Promise<boolean> {
    return (await this.#post<{ deregistered: boolean }>("/worker/deregister", { id }))
      .deregistered;
  }

  /**
   * Why a task is not running (`TaskQueue.explain` on the server).
   *
   * @param id The task id.
   * @returns The explanation.
   */
  explain(id: number): Promise<TaskExplanation> {
    return this.#request("GET", `/tasks/${id}/explain`, undefined, { id, action: "explain" });
  }

  /**
   * The server's worker registry.
   *
   * @returns Live workers and recently dead ones.
   */
  workers(): Promise<WorkerInfo[]> {
    return this.#request("GET", "/workers", undefined);
  }

  /**
   * Waits until a task is finished, by long polls of at most 30 s each (`GET /tasks/:id/wait`),
   * until `timeoutMs` of the client's clock have passed.
   *
   * @param id The task id.
   * @param options A timeout and an abort signal (`pollIntervalMs` is the server's business).
   * @returns The finished task.
   * @throws {WaitTimeoutError} Not finished within `timeoutMs`.
   */
  async waitFor(id: number, options: WaitOptions = {}): Promise<Task> {
    const { timeoutMs = Infinity, signal } = options;
    if (!(timeoutMs >= 0)) throw new RangeError("Invalid wait options: timeoutMs must be >= 0");
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      const wait = Math.max(0, Math.min(LONG_POLL_MS, Math.floor(deadline - this.clock.now())));
      const answer = await this.#request<{ finished: boolean; task: Task }>(
        "GET",
        `/tasks/${id}/wait?timeoutMs=${wait}`,
        undefined,
        { id, action: "wait for" },
        signal,
      );
      if (answer.finished) return answer.task;
      if (this.clock.now() >= deadline) {
        throw new WaitTimeoutError(id, timeoutMs, answer.task.status);
      }
    }
  }
}
