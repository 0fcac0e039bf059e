/**
 * What an `HttpWorker` makes of its server's failures, between the worker and its
 * `HttpQueueClient`: a refused token (401, 403) is fatal and reported once; an outage
 * (no answer, or a 5xx) is reported once at warn, its claims wait with capped exponential backoff
 * on the worker's clock, and the first call that gets through again logs "reconnected" at info.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../logger.ts";
import type { DequeueOptions, FailOptions, WorkerRegistration } from "../queue.ts";
import type { Task } from "../task.ts";
import type { WorkerQueue } from "../worker_options.ts";
import { type HttpQueueClient, HttpQueueError } from "./client.ts";

/** The first wait of a claim after the server failed to answer, in ms; it doubles each time. */
export const RECONNECT_FIRST_MS = 1000;
/** The longest wait between claims while the server does not answer, in ms. */
export const RECONNECT_MAX_MS = 30_000;

/** Whether the server refused the token: 401 (unknown token) or 403 (no write scope). */
export function isRefusal(error: unknown): error is HttpQueueError {
  return error instanceof HttpQueueError && (error.status === 401 || error.status === 403);
}

/** Whether the server did not answer (status 0) or failed (5xx): worth waiting out. */
export function isOutage(error: unknown): error is HttpQueueError {
  return error instanceof HttpQueueError && (error.status === 0 || error.status >= 500);
}

/** What the link tells its worker. */
export interface LinkHooks {
  /** The server refused the token (the first time in a run): the worker stops. */
  refused(error: HttpQueueError): void;
}

/**
 * A {@linkcode WorkerQueue} over a client that keeps track of the server's health: the state of
 * the current outage, the refusal, and which errors it has already reported (the worker's
 * `onError` skips those, so that an outage is one line, not one per call).
 */
export class ServerLink implements WorkerQueue {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly #client: HttpQueueClient;
  readonly #url: string;
  readonly #hooks: LinkHooks;
  /** Errors already reported (the outage's warning, the refusal). */
  readonly #reported = new WeakSet<object>();
  /** The current outage: since when, how many calls failed. */
  #down: { since: number; failures: number } | null = null;
  #refused = false;
  /** The server answered 404 to a registration: it has no worker registry. */
  #noRegistry = false;

  /**
   * Wraps a client.
   *
   * @param client The client.
   * @param url The server's URL, for the log lines.
   * @param hooks Where a refusal goes.
   */
  constructor(client: HttpQueueClient, url: string, hooks: LinkHooks) {
    this.#client = client;
    this.#url = url;
    this.#hooks = hooks;
    this.logger = client.logger;
    this.clock = client.clock;
  }

  /** A new run (`start()`, `tick()`): a refusal is reported again. */
  reset(): void {
    this.#refused = false;
  }

  /**
   * Whether an error was already reported here.
   *
   * @param error An error the worker is about to report.
   * @returns `true` to skip it.
   */
  reported(error: unknown): boolean {
    return typeof error === "object" && error !== null && this.#reported.has(error);
  }

  /**
   * Claims; while the server does not answer, waits with backoff and claims again (a claim that
   * must not wait, a refill or a `tick()`, answers empty), until it answers or `signal` aborts.
   */
  async dequeueMany(
    limit: number,
    options?: DequeueOptions,
    control: { signal?: AbortSignal; wait?: boolean } = {},
  ): Promise<Task[]> {
    for (;;) {
      try {
        return this.#up(await this.#client.dequeueMany(limit, options, control));
      } catch (error) {
        if (control.signal?.aborted || !this.#failed(error)) throw error;
        if (control.wait === false) return [];
        const failures = this.#down!.failures;
        const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** (failures - 1));
        await this.clock.sleep(delay, control.signal);
        if (control.signal?.aborted) return [];
      }
    }
  }

  /** Extends a lease (an outage's failure is reported once, as the outage). */
  heartbeat(task: Task): Promise<Task> {
    return this.#call(() => this.#client.heartbeat(task), true);
  }

  /** Records progress. */
  progress(task: Task, progress: unknown): Promise<Task> {
    return this.#call(() => this.#client.progress(task, progress), false);
  }

  /** Completes a task (a failure is reported with its task: the result is lost). */
  completeTask(task: Task, result?: unknown): Promise<Task> {
    return this.#call(() => this.#client.completeTask(task, result), false);
  }

  /** Fails an attempt. */
  failTask(task: Task, error: string | Error, options?: FailOptions): Promise<Task> {
    return this.#call(() => this.#client.failTask(task, error, options), false);
  }

  /** Gives a claim back. */
  release(task: Task): Promise<Task> {
    return this.#call(() => this.#client.release(task), false);
  }

  /** The cancel marks; none known while the server does not answer. */
  async cancelRequested(ids: readonly number[]): Promise<number[]> {
    try {
      return this.#up(await this.#client.cancelRequested(ids));
    } catch (error) {
      if (this.#failed(error)) return [];
      throw error;
    }
  }

  /** Upkeep (an `HttpWorker` leaves it to the server). */
  maintain(): Promise<unknown> {
    return this.#call(() => this.#client.maintain(), true);
  }

  /**
   * Registers the worker, or beats: best effort. A refused token stops the worker as any call's
   * does; during an outage it is not tried (the claims find the outage and report it), and any
   * other failure is not reported (the next beat tries again). A server without the worker
   * registry (an older tasklite: 404) is told once, at warn, and not asked again.
   */
  async registerWorker(registration: WorkerRegistration): Promise<unknown> {
    if (this.#noRegistry || this.#down) return undefined;
    try {
      return await this.#client.registerWorker(registration);
    } catch (error) {
      return this.#registryFailed(error);
    }
  }

  /** Removes the worker from the registry, best effort (see `registerWorker`). */
  async deregisterWorker(id: string): Promise<unknown> {
    if (this.#noRegistry || this.#down) return undefined;
    try {
      return await this.#client.deregisterWorker(id);
    } catch (error) {
      return this.#registryFailed(error);
    }
  }

  #registryFailed(error: unknown): undefined {
    if (isRefusal(error)) {
      this.#failed(error);
      throw error;
    }
    if (error instanceof HttpQueueError && error.status === 404) {
      this.#noRegistry = true;
      this.logger.warn("The queue server has no worker registry: this worker is not listed", {
        url: this.#url,
      });
    }
    return undefined;
  }

  async #call<T>(call: () => Promise<T>, quiet: boolean): Promise<T> {
    try {
      return this.#up(await call());
    } catch (error) {
      if (this.#failed(error) && !quiet && isOutage(error)) this.#reported.delete(error);
      throw error;
    }
  }

  /** A call got through: an outage ends. */
  #up<T>(value: T): T {
    const down = this.#down;
    if (down) {
      this.#down = null;
      this.logger.info("Reconnected to the queue server", {
        url: this.#url,
        downMs: this.clock.now() - down.since,
        failures: down.failures,
      });
    }
    return value;
  }

  /**
   * Accounts for a failed call: a refusal (reported to the hook once per run) or an outage
   * (warned once); both are marked reported. Whether it was one of them.
   */
  #failed(error: unknown): boolean {
    if (isRefusal(error)) {
      this.#reported.add(error);
      if (!this.#refused) {
        this.#refused = true;
        this.#hooks.refused(error);
      }
      return false;
    }
    if (!isOutage(error)) return false;
    this.#reported.add(error);
    if (this.#down) {
      this.#down.failures++;
      return true;
    }
    this.#down = { since: this.clock.now(), failures: 1 };
    this.logger.warn(
      "Cannot reach the queue server: claims wait and retry with backoff until it answers",
      {
        url: this.#url,
        error: error.message,
        retryInMs: RECONNECT_FIRST_MS,
        maxRetryInMs: RECONNECT_MAX_MS,
      },
    );
    return true;
  }
}
