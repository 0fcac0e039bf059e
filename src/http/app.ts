/**
 * The Hono sub-app that serves a queue over HTTP: a JSON API (validated with valibot through
 * Hono's Standard Schema validator), the worker endpoints remote workers claim through, a
 * Server-Sent Events stream, an OpenAPI document and the dashboard.
 *
 * @module
 */

import { sValidator } from "@hono/standard-validator";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { streamSSE } from "hono/streaming";
import type { EnqueueOptions, TaskQueue, TaskRef } from "../queue.ts";
import type { TaskRegistry } from "../typed_tasks.ts";
import type { CancelPendingOptions } from "../queue_actions.ts";
import type { TaskPriority } from "../task.ts";
import { toPrometheus } from "../metrics.ts";
import { describeIssue } from "../_validation.ts";
import { concerns, WakeableSleep } from "../_wake.ts";
import { type AuthOptions, type Scope, TokenChecker } from "./_auth.ts";
import { EventLog } from "./_event_log.ts";
import { openApiDocument } from "./_openapi.ts";
import { typedTask } from "./_typed_bodies.ts";
import {
  CancellationsBody,
  CancelPendingBody,
  ClaimBody,
  CompleteBody,
  DeregisterBody,
  EnqueueBody,
  EnqueueManyBody,
  FailBody,
  HistoryQuery,
  IdParam,
  LeaseBody,
  LimitsBody,
  ListQuery,
  NameParam,
  PauseBody,
  ProgressBody,
  PruneBody,
  RegisterBody,
  RetryFailedBody,
  ScheduleBody,
  TaskTypeParam,
  WaitQuery,
} from "./_schemas.ts";
import type { QueueApp } from "./api_types.ts";
import { errorBody, toHttpError } from "./_route_kit.ts";
import { renderDashboard } from "./dashboard/page.ts";
import { waitAnswer } from "./_wait_route.ts";
import { renderLogin } from "./dashboard/_login.ts";

/** How the HTTP API is served. */
export interface QueueAppOptions {
  /** Bearer tokens per scope. Without it, every route is open: mount it behind your own auth. */
  auth?: AuthOptions;
  /**
   * The largest request body, in bytes; larger ones get 413.
   *
   * @default {1_048_576}
   */
  bodyLimitBytes?: number;
  /** Allowed cross-origin callers. CORS is off unless this is set. */
  cors?: { origin: string | string[] };
  /**
   * Whether `GET /` serves the dashboard.
   *
   * @default {true}
   */
  dashboard?: boolean;
  /**
   * Typed tasks (`defineTasks`): `POST /tasks` and `/tasks/batch` take only their types, check
   * payloads (a 400 naming the field) and apply the types' defaults; OpenAPI documents each type.
   *
   * @default {undefined (any task type, any JSON payload)}
   */
  tasks?: TaskRegistry;
}

/** Turns a failed Standard Schema validation into our 400. */
interface Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

function invalid(target: string) {
  return (result: { success: boolean; error?: readonly Issue[] }, c: Context) => {
    if (result.success) return;
    const issues = (result.error ?? []).map((issue) => {
      const path = issue.path?.map((p) => typeof p === "object" ? String(p.key) : String(p))
        .join(".");
      return describeIssue(path || null, issue.message);
    });
    return c.json(errorBody("bad_request", `Invalid ${target}: ${issues.join("; ")}`, issues), 400);
  };
}

type Schema = Parameters<typeof sValidator>[1];

/** What `Content-Type` a body needs (what Hono's validator parses; others it would skip). */
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * A JSON body validated by `schema`, after two checks the validator does not make: the body is
 * sent as JSON (otherwise Hono skips it and the schema sees `{}`) and is an object (not `[]`).
 */
const json = <S extends Schema>(schema: S) => {
  const validate = sValidator("json", schema, invalid("body"));
  const checked: MiddlewareHandler = async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
    if (!JSON_TYPE.test(type)) {
      const message =
        "Request bodies must be JSON objects sent with Content-Type: application/json";
      return c.json(errorBody("unsupported_media_type", `${message} (got ${type || "none"})`), 415);
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(errorBody("bad_request", "Invalid body: malformed JSON"), 400);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      const got = Array.isArray(body) ? "an array" : body === null ? "null" : typeof body;
      return c.json(
        errorBody("bad_request", `Invalid body: must be a JSON object, not ${got}`),
        400,
      );
    }
    return await validate(c, next);
  };
  return checked as unknown as typeof validate;
};
const query = <S extends Schema>(schema: S) => sValidator("query", schema, invalid("query"));
const param = <S extends Schema>(schema: S) => sValidator("param", schema, invalid("path"));

/**
 * `GET /queue/` and the like: a GET or HEAD whose path ends in `/` and matched nothing redirects
 * to the path without it (the dashboard at the mount point, or a route), by a relative reference
 * (`../queue`), which stays right behind a proxy that rewrites the host or strips a prefix.
 */
const trimTrailingSlash: MiddlewareHandler = async (c, next) => {
  await next();
  const { method, path } = c.req;
  if (c.res.status !== 404 || !(method === "GET" || method === "HEAD")) return;
  const match = /\/([^/]+)\/$/.exec(path);
  if (!match) return;
  const url = new URL(c.req.url);
  c.res = c.redirect(`../${match[1]}${url.search}`, 301);
};

/** A task reference fenced by the lease the worker holds. */
const fenced = (id: number, attempts: number): TaskRef => ({ id, attempts });

/** How often an idle event stream sends a comment: under Bun's 10 s idle timeout. */
const KEEP_ALIVE_MS = 5_000;

/**
 * Builds the sub-app. Mount it with `app.route("/queue", createQueueApp(queue))`, or serve it as is.
 *
 * @example Mount in a Hono app served by Bun, Deno or Node
 * ```ts
 * import { Hono } from "hono";
 * import { TaskQueue } from "@tasklite/tasklite";
 * import { createQueueApp } from "@tasklite/tasklite/hono";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const app = new Hono().route("/queue", createQueueApp(queue));
 * const response = await app.request("/queue/stats");
 * console.log(await response.json()); // { pending: 0, running: 0, ... }
 * await queue.close();
 * ```
 *
 * @param queue The queue to serve.
 * @param options Auth, body limit, CORS, dashboard.
 * @returns The Hono app.
 */
export function createQueueApp(queue: TaskQueue, options: QueueAppOptions = {}): QueueApp {
  // The inferred type of the routes is checked against the declared QueueApp in a test.
  return buildQueueApp(queue, options) as unknown as QueueApp;
}

/** The app with its inferred route types (internal; `QueueApp` is the declared, public form). */
export function buildQueueApp(queue: TaskQueue, options: QueueAppOptions) {
  const checker = options.auth ? new TokenChecker(options.auth) : null;
  const maxBytes = options.bodyLimitBytes ?? 1_048_576;
  if (!(Number.isInteger(maxBytes) && maxBytes > 0)) {
    throw new RangeError("Invalid app options: bodyLimitBytes must be a positive integer");
  }
  const events = new EventLog(queue);
  const registry = options.tasks;
  const docs = registry ? { tasks: registry } : {};

  /** Requires a scope: a bearer token (or `access_token` on GET, for EventSource and links). */
  const need = (scope: Scope): MiddlewareHandler => async (c, next) => {
    if (!checker) return await next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const token = match?.[1] ?? (c.req.method === "GET" ? c.req.query("access_token") : undefined);
    const granted = token ? checker.scopeOf(token) : null;
    if (!granted) {
      c.header("WWW-Authenticate", 'Bearer realm="tasklite"');
      return c.json(errorBody("unauthorized", "A valid bearer token is required"), 401);
    }
    if (scope === "write" && granted !== "write") {
      return c.json(errorBody("forbidden", "This token may only read"), 403);
    }
    await next();
  };
  const read = need("read");
  const write = need("write");
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        errorBody("payload_too_large", `Request bodies are limited to ${maxBytes} bytes`),
        413,
      ),
  });

  /** Due schedules and retention, at most once a second, as remote workers claim. */
  let maintainedAt = -Infinity;
  const upkeep = async () => {
    if (queue.clock.now() - maintainedAt < 1000) return;
    maintainedAt = queue.clock.now();
    try {
      await queue.maintain();
    } catch (error) {
      queue.logger.error("Upkeep failed", { error: String(error) });
    }
  };

  const app = new Hono();
  app.use("*", trimTrailingSlash);
  if (options.cors) app.use("*", cors({ origin: options.cors.origin }));
  app.onError((error, c) => {
    const { status, body } = toHttpError(error);
    if (status === 500) queue.logger.error("HTTP handler failed", { error: String(error) });
    return c.json(body, status);
  });

  const routes = app
    .get("/stats", read, async (c) => c.json(await queue.getQueueStats(), 200))
    .get("/metrics", read, async (c) =>
      c.text(toPrometheus(await queue.metrics()), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      }))
    .get("/metrics.json", read, async (c) => c.json(await queue.metrics(), 200))
    .get("/history", read, query(HistoryQuery), async (c) => {
      const { windowMs, stepMs } = c.req.valid("query");
      return c.json(await queue.history({ windowMs, stepMs }), 200);
    })
    .get("/tasks", read, query(ListQuery), async (c) => {
      const { status, limit, offset, q, taskType, priority, due, sort, order } = c.req.valid(
        "query",
      );
      const tasks = await queue.getTasksByStatus(status, limit, offset, {
        ...(q ? { search: q } : {}),
        taskType,
        priority: priority as TaskPriority | undefined,
        due,
        ...(sort ? { sort: { by: sort, descending: order === "desc" } } : {}),
      });
      return c.json({ tasks, limit, offset }, 200);
    })
    .post("/tasks", write, limit, json(EnqueueBody), async (c) => {
      const body = c.req.valid("json");
      const key = c.req.header("idempotency-key");
      if (key !== undefined && body.uniqueKey !== undefined && key !== body.uniqueKey) {
        return c.json(
          errorBody("bad_request", "Idempotency-Key and uniqueKey disagree; send one of them"),
          400,
        );
      }
      const sent = { ...body, ...(key ? { uniqueKey: key } : {}) } as EnqueueOptions;
      const raw = registry ? { ...await c.req.json(), ...(key ? { uniqueKey: key } : {}) } : {};
      const options = typedTask(registry, sent, raw);
      if (options.uniqueKey === undefined) {
        const id = await queue.enqueue(options);
        return c.json({ id, created: true as boolean, task: (await queue.getTask(id))! }, 201);
      }
      // A live task holding the key is answered instead of a new one; only an inserted task is
      // announced (`enqueued`, emitted before enqueue() resolves), which tells the two apart.
      const inserted = new Set<number>();
      const unlisten = queue.on("enqueued", (event) => inserted.add(event.taskId));
      let id: number;
      try {
        id = await queue.enqueue(options);
      } finally {
        unlisten();
      }
      const task = (await queue.getTask(id))!;
      if (inserted.has(id)) return c.json({ id, created: true as boolean, task }, 201);
      c.header("Idempotent-Replayed", "true");
      return c.json({ id, created: false as boolean, task }, 200);
    })
    .post("/tasks/batch", write, limit, json(EnqueueManyBody), async (c) => {
      const { tasks } = c.req.valid("json");
      const raw = registry ? (await c.req.json()).tasks : [];
      const ids = await queue.enqueueMany(
        (tasks as EnqueueOptions[]).map((task, i) =>
          typedTask(registry, task, raw[i], `tasks.${i}`)
        ),
      );
      return c.json({ ids }, 201);
    })
    .post("/tasks/retry-failed", write, limit, json(RetryFailedBody), async (c) => {
      const ids = (await queue.retryFailed(c.req.valid("json"))).map((task) => task.id);
      return c.json({ ids, count: ids.length }, 200);
    })
    .post("/tasks/cancel-pending", write, limit, json(CancelPendingBody), async (c) => {
      const body = c.req.valid("json");
      const ids = (await queue.cancelPending(body as CancelPendingOptions)).map((task) => task.id);
      return c.json({ ids, count: ids.length }, 200);
    })
    .post("/tasks/prune", write, limit, json(PruneBody), async (c) => {
      return c.json({ deleted: await queue.prune(c.req.valid("json")) }, 200);
    })
    .get("/tasks/:id", read, param(IdParam), async (c) => {
      const { id } = c.req.valid("param");
      const task = await queue.getTask(id);
      if (!task) return c.json(errorBody("not_found", `Task ${id} does not exist`), 404);
      return c.json(task, 200);
    })
    .post(
      "/tasks/:id/cancel",
      write,
      param(IdParam),
      async (c) => c.json(await queue.cancelTask(c.req.valid("param").id), 200),
    )
    .post(
      "/tasks/:id/retry",
      write,
      param(IdParam),
      async (c) => c.json(await queue.retryTask(c.req.valid("param").id), 200),
    )
    .get(
      "/tasks/:id/explain",
      read,
      param(IdParam),
      async (c) => c.json(await queue.explain(c.req.valid("param").id), 200),
    )
    .get("/tasks/:id/wait", read, param(IdParam), query(WaitQuery), async (c) => {
      const { id } = c.req.valid("param");
      const answer = await waitAnswer(queue, id, c.req.valid("query").timeoutMs, c.req.raw.signal);
      if (!answer) return c.json(errorBody("not_found", `Task ${id} does not exist`), 404);
      return c.json(answer, 200);
    })
    .get("/workers", read, async (c) => c.json(await queue.workers(), 200))
    .post(
      "/tasks/:id/promote",
      write,
      param(IdParam),
      async (c) => c.json(await queue.promoteTask(c.req.valid("param").id), 200),
    )
    .get("/controls", read, async (c) => c.json(await queue.getControls(), 200))
    .post("/pause", write, limit, json(PauseBody), async (c) => {
      await queue.pause(c.req.valid("json").taskType);
      return c.json(await queue.getControls(), 200);
    })
    .post("/resume", write, limit, json(PauseBody), async (c) => {
      await queue.resume(c.req.valid("json").taskType);
      return c.json(await queue.getControls(), 200);
    })
    .put("/limits/:taskType", write, limit, param(TaskTypeParam), json(LimitsBody), async (c) => {
      await queue.setLimits(c.req.valid("param").taskType, c.req.valid("json"));
      return c.json(await queue.getControls(), 200);
    })
    .get("/schedules", read, async (c) => c.json(await queue.getSchedules(), 200))
    .put("/schedules/:name", write, limit, param(NameParam), json(ScheduleBody), async (c) => {
      const { cron, ...options } = c.req.valid("json");
      return c.json(await queue.schedule(c.req.valid("param").name, cron, options), 200);
    })
    .post("/schedules/:name/run", write, param(NameParam), async (c) => {
      const { name } = c.req.valid("param");
      const id = await queue.runSchedule(name);
      if (id === null) {
        return c.json(errorBody("not_found", `Schedule ${name} does not exist`), 404);
      }
      return c.json({ id }, 201);
    })
    .post("/schedules/:name/pause", write, param(NameParam), async (c) => {
      const { name } = c.req.valid("param");
      const schedule = await queue.pauseSchedule(name, true);
      if (!schedule) return c.json(errorBody("not_found", `Schedule ${name} does not exist`), 404);
      return c.json(schedule, 200);
    })
    .post("/schedules/:name/resume", write, param(NameParam), async (c) => {
      const { name } = c.req.valid("param");
      const schedule = await queue.pauseSchedule(name, false);
      if (!schedule) return c.json(errorBody("not_found", `Schedule ${name} does not exist`), 404);
      return c.json(schedule, 200);
    })
    .delete("/schedules/:name", write, param(NameParam), async (c) => {
      const { name } = c.req.valid("param");
      if (!(await queue.unschedule(name))) {
        return c.json(errorBody("not_found", `Schedule ${name} does not exist`), 404);
      }
      return c.json({ deleted: name }, 200);
    })
    .get("/events", read, (c) =>
      streamSSE(c, async (stream) => {
        // A fresh connection starts from now; Last-Event-ID resumes after that event.
        let lastId = c.req.header("last-event-id") ?? c.req.query("lastEventId") ?? events.lastId;
        const closed = new AbortController();
        stream.onAbort(() => closed.abort());
        const signal = AbortSignal.any([c.req.raw.signal, closed.signal]);
        // A first byte at once: Bun sends no response headers before one, and closes requests
        // idle for 10 s, so an idle queue's stream would never open there.
        await stream.write(": connected\n\n");
        while (!stream.aborted && !signal.aborted) {
          const pending = events.after(lastId);
          for (const event of pending) {
            await stream.writeSSE(event);
            lastId = event.id;
          }
          // Events logged while those were written wake no one: look again before waiting.
          if (pending.length > 0) continue;
          await events.next(KEEP_ALIVE_MS, signal);
          if (events.after(lastId).length === 0) await stream.write(": keep-alive\n\n");
        }
      }))
    .post("/worker/claim", write, limit, json(ClaimBody), async (c) => {
      const { limit: count, waitMs, ...claim } = c.req.valid("json");
      await upkeep();
      const signal = c.req.raw.signal;
      // A notification (an enqueue, release or redrive of these types in this process) or a
      // second passing (tasks that became due, or came from another process) is worth a claim,
      // until waitMs of the queue's clock have passed.
      const poll = new WakeableSleep(queue.clock);
      const deadline = new AbortController();
      let expired = waitMs === 0;
      let unlisten: (() => void) | undefined;
      if (!expired) {
        void queue.clock.sleep(waitMs, deadline.signal).then(() => {
          expired = true;
          poll.wake();
        });
        unlisten = queue.notifier.listen((types) => {
          if (concerns(types, claim.taskTypes)) poll.wake();
        });
      }
      try {
        for (;;) {
          // A client that went away must not be handed tasks: they would sit leased to no one.
          if (signal.aborted) return c.json({ tasks: [] }, 200);
          const tasks = await queue.dequeueMany(count, claim);
          if (tasks.length > 0 || expired) return c.json({ tasks }, 200);
          await poll.sleep(1000, signal);
        }
      } finally {
        unlisten?.();
        deadline.abort();
        poll.close();
      }
    })
    .post(
      "/worker/tasks/:id/heartbeat",
      write,
      limit,
      param(IdParam),
      json(LeaseBody),
      async (c) =>
        c.json(
          await queue.heartbeat(fenced(c.req.valid("param").id, c.req.valid("json").attempts)),
          200,
        ),
    )
    .post(
      "/worker/tasks/:id/progress",
      write,
      limit,
      param(IdParam),
      json(ProgressBody),
      async (c) => {
        const { attempts, progress } = c.req.valid("json");
        return c.json(
          await queue.progress(fenced(c.req.valid("param").id, attempts), progress),
          200,
        );
      },
    )
    .post(
      "/worker/tasks/:id/complete",
      write,
      limit,
      param(IdParam),
      json(CompleteBody),
      async (c) => {
        const { attempts, result } = c.req.valid("json");
        return c.json(
          await queue.completeTask(fenced(c.req.valid("param").id, attempts), result),
          200,
        );
      },
    )
    .post("/worker/tasks/:id/fail", write, limit, param(IdParam), json(FailBody), async (c) => {
      const { attempts, error, ...options } = c.req.valid("json");
      return c.json(
        await queue.failTask(fenced(c.req.valid("param").id, attempts), error, options),
        200,
      );
    })
    .post(
      "/worker/tasks/:id/release",
      write,
      limit,
      param(IdParam),
      json(LeaseBody),
      async (c) =>
        c.json(
          await queue.release(fenced(c.req.valid("param").id, c.req.valid("json").attempts)),
          200,
        ),
    )
    .post(
      "/worker/cancellations",
      write,
      limit,
      json(CancellationsBody),
      async (c) => c.json({ ids: await queue.cancelRequested(c.req.valid("json").ids) }, 200),
    )
    .post("/worker/register", write, limit, json(RegisterBody), async (c) => {
      const registration = c.req.valid("json");
      await queue.registerWorker(registration);
      return c.json({ id: registration.id }, 200);
    })
    .post("/worker/deregister", write, limit, json(DeregisterBody), async (c) => {
      const deregistered = await queue.deregisterWorker(c.req.valid("json").id);
      return c.json({ deregistered }, 200);
    })
    .post("/worker/maintain", write, async (c) => c.json(await queue.maintain(), 200))
    .get(
      "/openapi.json",
      (c) => c.json(openApiDocument(c.req.path.slice(0, -"/openapi.json".length), docs), 200),
    );

  if (options.dashboard ?? true) {
    app.get("/", async (c) => {
      const apiBase = c.req.path.replace(/\/+$/, "");
      if (!checker) return c.html(await renderDashboard({ apiBase, token: null }));
      // A browser without a valid token gets a login form (still a 401), not a JSON error.
      const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
      const token = c.req.query("access_token") ?? match?.[1] ?? null;
      const scope = token ? checker.scopeOf(token) : null;
      if (!scope) {
        c.header("WWW-Authenticate", 'Bearer realm="tasklite"');
        return c.html(await renderLogin({ title: "tasklite", refused: token !== null }), 401);
      }
      return c.html(await renderDashboard({ apiBase, token, canWrite: scope === "write" }));
    });
  }
  // Unknown paths under the mount point get a JSON 404 too (a mounted app's notFound is not used).
  app.all(
    "*",
    (c) => c.json(errorBody("not_found", `No route ${c.req.method} ${c.req.path}`), 404),
  );
  return routes;
}
