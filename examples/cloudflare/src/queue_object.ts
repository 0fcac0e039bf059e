/**
 * The Durable Object that holds one queue: tasklite's `TaskQueue` on the object's own SQLite
 * storage (migrated on first use, inside `blockConcurrencyWhile`), an `AlarmWorker` that runs its
 * tasks from the object's alarm, and the HTTP API and dashboard served from its `fetch`.
 *
 * @module
 */

import { AlarmWorker, type DurableObjectStorage, TaskQueue } from "../../../mod.ts";
import { createQueueApp } from "../../../hono.ts";
import { Hono } from "hono";
import { handlers } from "./handlers.ts";

/** The slice of a Durable Object's state this class uses (`DurableObjectState` in workers-types). */
export interface QueueObjectState {
  readonly storage: DurableObjectStorage & {
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
    deleteAlarm(): Promise<void>;
  };
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

/** The Worker's bindings. */
export interface QueueEnv {
  /** The Durable Object namespace of the queues. */
  readonly QUEUES: {
    idFromName(name: string): unknown;
    get(id: unknown): { fetch(request: Request): Promise<Response> };
  };
  /** A bearer token that may read (empty: none). */
  readonly TASKLITE_READ_TOKEN?: string;
  /** A bearer token that may read, write and run workers (empty: none). */
  readonly TASKLITE_WRITE_TOKEN?: string;
  /** How long one alarm claims tasks, in ms (empty: the AlarmWorker's default, 10 s). */
  readonly TASKLITE_ALARM_BUDGET_MS?: string;
}

/**
 * After a write the alarm is armed again: enqueues arm it by their events (waited for), other
 * writes may make a task due sooner without one (resume, limits, schedules): `arm()`.
 */
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const ENQUEUES = /\/tasks(\/batch)?$/;

/** One queue, its alarm-driven worker, and its HTTP API. */
export class QueueObject {
  #queue!: TaskQueue;
  #worker!: AlarmWorker;
  #app!: ReturnType<typeof createQueueApp>;
  /** The app mounted where the Worker routed it from (`/` or `/queues/<name>`). */
  readonly #mounted = new Map<string, Hono>();

  /**
   * Opens the queue before the object takes its first request or alarm.
   *
   * @param ctx The object's state.
   * @param env The bindings.
   */
  constructor(ctx: QueueObjectState, env: QueueEnv) {
    void ctx.blockConcurrencyWhile(async () => {
      this.#queue = await TaskQueue.open({ database: ctx.storage });
      const budgetMs = Number(env.TASKLITE_ALARM_BUDGET_MS || 10_000);
      this.#worker = new AlarmWorker(this.#queue, {
        alarms: ctx.storage,
        handlers,
        concurrency: 8,
        budgetMs,
      });
      const readTokens = env.TASKLITE_READ_TOKEN ? [env.TASKLITE_READ_TOKEN] : [];
      const writeTokens = env.TASKLITE_WRITE_TOKEN ? [env.TASKLITE_WRITE_TOKEN] : [];
      this.#app = createQueueApp(this.#queue, {
        ...(readTokens.length + writeTokens.length > 0
          ? { auth: { readTokens, writeTokens } }
          : {}),
      });
      await this.#worker.arm();
    });
  }

  /**
   * Serves the queue's API and dashboard, then arms the alarm after a write.
   *
   * @param request The request, with the Worker's path.
   * @returns The response.
   */
  async fetch(request: Request): Promise<Response> {
    const base = /^\/queues\/[^/]+/.exec(new URL(request.url).pathname)?.[0] ?? "/";
    let app = this.#mounted.get(base);
    if (!app) this.#mounted.set(base, app = new Hono().route(base, this.#app));
    const response = await app.fetch(request);
    // A body the app answered without reading (a 401, 403 or 413) is read now: workerd refuses
    // to read it once the response has gone, and wrangler dev drains every request's body.
    if (request.body && !request.bodyUsed) await request.arrayBuffer().catch(() => {});
    const { method, url } = request;
    if (WRITES.has(method)) {
      // Stored before the response goes (its output gate covers the alarm's write).
      if (ENQUEUES.test(new URL(url).pathname)) await this.#worker.armed();
      else await this.#worker.arm();
    }
    return response;
  }

  /** Runs what is due, within the worker's budget; the alarm is set again for what comes next. */
  async alarm(): Promise<void> {
    const run = await this.#worker.alarm();
    console.log(`tasklite alarm: ${JSON.stringify(run)}`);
  }
}
