/**
 * The HTTP API's types, written out: request bodies and queries as clients send them, and the
 * Hono schema of every route, for a typed client (`hc<QueueApp>` from `hono/client`).
 *
 * They are declared rather than inferred so that the published API has explicit types; a test
 * checks them against the valibot schemas that validate the requests.
 *
 * @module
 */

import type { Hono } from "hono";
import type { JSONParsed } from "hono/utils/types";
import type { TaskExplanation } from "../core/explain.ts";
import type { Schedule, TypeControl } from "../engine.ts";
import type { QueueHistory } from "../history.ts";
import type { TaskDue, TaskSortKey } from "../task_query.ts";
import type { QueueMetrics } from "../metrics.ts";
import type { WorkerInfo, WorkerRegistration } from "../queue_options.ts";
import type { QueueStats, RetryPolicy, Task, TaskPriority, TaskStatus } from "../task.ts";
import type { AnyTaskDefinition, DefinitionsOf, PayloadInput } from "../typed_tasks.ts";

/**
 * The stable error codes of the API's JSON errors (the OpenAPI document lists the same).
 *
 * @example Usage
 * ```ts
 * import { ERROR_CODES } from "@tasklite/tasklite/hono";
 *
 * console.log(ERROR_CODES.includes("lease_lost")); // true
 * ```
 */
export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "lease_lost",
  "payload_too_large",
  "unsupported_media_type",
  "internal",
] as const;

/** One of {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/** The body of every error response. */
export interface ErrorBody {
  /** What went wrong. */
  error: { code: ErrorCode; message: string; issues?: string[] };
}

/** A task to enqueue over HTTP (`scheduledAt`: epoch ms or an ISO 8601 string). */
export interface EnqueueRequest {
  /** A human-readable name. */
  name: string;
  /** Selects the handler. */
  taskType: string;
  /** JSON input. */
  payload?: unknown;
  /** 1 (LOW) to 4 (CRITICAL). */
  priority?: TaskPriority;
  /** When the task becomes due. */
  scheduledAt?: number | string;
  /** Retries after the first failure. */
  maxRetries?: number;
  /** Idempotency key (or the `Idempotency-Key` header). */
  uniqueKey?: string;
  /** Concurrency key (per-key limits, fair claims). */
  concurrencyKey?: string;
  /** Run time limit. */
  timeoutMs?: number;
  /** Retry policy. */
  retry?: RetryPolicy;
}

/** A recurring schedule over HTTP. */
export interface ScheduleRequest {
  /** The cron pattern. */
  cron: string;
  /** The task type each slot enqueues. */
  taskType: string;
  /** The enqueued task's name. */
  name?: string;
  /** Its payload. */
  payload?: unknown;
  /** Its priority. */
  priority?: TaskPriority;
  /** Its retries. */
  maxRetries?: number;
  /** Its run time limit. */
  timeoutMs?: number;
  /** The pattern's IANA time zone. */
  timezone?: string;
  /** Whether the schedule is paused. */
  paused?: boolean;
}

/** A claim over HTTP (the engine-level claim is `ClaimRequest` in `mod.ts`). */
export interface HttpClaimRequest {
  /** At most this many tasks (1–100). */
  limit?: number;
  /** Only these task types. */
  taskTypes?: string[];
  /** The lease. */
  leaseMs?: number;
  /** The claimer's name. */
  workerId?: string;
  /** Wait up to this long (0–30,000 ms) for a task before answering empty. */
  waitMs?: number;
}

// The shorthands below are marked @internal so that `deno doc --lint` accepts QueueSchema and
// QueueApp, which use them (and types of Hono's, which it takes for private ones:
// denoland/deno#27364).

/**
 * The error statuses.
 *
 * @internal
 */
type Errors = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500;
/**
 * A JSON answer with status `S`.
 *
 * @internal
 */
type Ok<T, S extends number = 200> = { output: JSONParsed<T>; outputFormat: "json"; status: S };
/**
 * A JSON error answer.
 *
 * @internal
 */
type Failed = { output: JSONParsed<ErrorBody>; outputFormat: "json"; status: Errors };
/**
 * A route taking `I` and answering `T` with status `S`, or an error.
 *
 * @internal
 */
type Endpoint<I, T, S extends number = 200> = { input: I } & (Ok<T, S> | Failed);
/**
 * No input.
 *
 * @internal
 */
// deno-lint-ignore ban-types
type None = {};
/**
 * A task id in the path.
 *
 * @internal
 */
type Id = { param: { id: string } };
/**
 * A JSON body.
 *
 * @internal
 */
type Json<T> = { json: T };
/**
 * The claim's fencing token.
 *
 * @internal
 */
type Lease = Json<{ attempts: number }>;
/**
 * A Hono app with no bindings or variables, serving `S` at `/`.
 *
 * @internal
 */
type HonoApp<S extends QueueSchema> = Hono<None, S, "/">;

/** Every route of the sub-app, in Hono's schema form. */
export type QueueSchema = {
  "/stats": { $get: Endpoint<None, QueueStats> };
  "/metrics": { $get: { input: None; output: string; outputFormat: "text"; status: 200 } };
  "/metrics.json": { $get: Endpoint<None, QueueMetrics> };
  "/history": {
    $get: Endpoint<{ query: { windowMs?: string; stepMs?: string } }, QueueHistory>;
  };
  "/tasks": {
    $get: Endpoint<
      {
        query: {
          status: TaskStatus;
          limit?: string;
          offset?: string;
          q?: string;
          taskType?: string;
          priority?: "1" | "2" | "3" | "4";
          due?: TaskDue;
          sort?: TaskSortKey;
          order?: "asc" | "desc";
        };
      },
      { tasks: Task[]; limit: number; offset: number }
    >;
    $post:
      | Endpoint<Json<EnqueueRequest>, { id: number; created: boolean; task: Task }, 201>
      | Endpoint<Json<EnqueueRequest>, { id: number; created: boolean; task: Task }, 200>;
  };
  "/tasks/batch": { $post: Endpoint<Json<{ tasks: EnqueueRequest[] }>, { ids: number[] }, 201> };
  "/tasks/retry-failed": {
    $post: Endpoint<Json<{ taskType?: string; limit?: number }>, { ids: number[]; count: number }>;
  };
  "/tasks/cancel-pending": {
    $post: Endpoint<
      Json<{
        search?: string;
        taskType?: string;
        priority?: TaskPriority;
        due?: TaskDue;
        limit?: number;
      }>,
      { ids: number[]; count: number }
    >;
  };
  "/tasks/prune": {
    $post: Endpoint<
      Json<
        {
          olderThanMs: number;
          statuses?: ("completed" | "failed" | "cancelled")[];
          limit?: number;
        }
      >,
      { deleted: number }
    >;
  };
  "/tasks/:id": { $get: Endpoint<Id, Task> };
  "/tasks/:id/cancel": { $post: Endpoint<Id, Task> };
  "/tasks/:id/retry": { $post: Endpoint<Id, Task> };
  "/tasks/:id/explain": { $get: Endpoint<Id, TaskExplanation> };
  "/tasks/:id/wait": {
    $get: Endpoint<Id & { query: { timeoutMs?: string } }, { finished: boolean; task: Task }>;
  };
  "/workers": { $get: Endpoint<None, WorkerInfo[]> };
  "/tasks/:id/promote": { $post: Endpoint<Id, Task> };
  "/controls": { $get: Endpoint<None, TypeControl[]> };
  "/pause": { $post: Endpoint<Json<{ taskType?: string }>, TypeControl[]> };
  "/resume": { $post: Endpoint<Json<{ taskType?: string }>, TypeControl[]> };
  "/limits/:taskType": {
    $put: Endpoint<
      {
        param: { taskType: string };
        json: {
          concurrency?: number | null;
          rate?: { max: number; intervalMs: number } | null;
          concurrencyPerKey?: number | null;
          ratePerKey?: { max: number; intervalMs: number } | null;
        };
      },
      TypeControl[]
    >;
  };
  "/schedules": { $get: Endpoint<None, Schedule[]> };
  "/schedules/:name": {
    $put: Endpoint<{ param: { name: string }; json: ScheduleRequest }, Schedule>;
    $delete: Endpoint<{ param: { name: string } }, { deleted: string }>;
  };
  "/schedules/:name/run": { $post: Endpoint<{ param: { name: string } }, { id: number }, 201> };
  "/schedules/:name/pause": { $post: Endpoint<{ param: { name: string } }, Schedule> };
  "/schedules/:name/resume": { $post: Endpoint<{ param: { name: string } }, Schedule> };
  "/events": { $get: { input: None; output: string; outputFormat: "text"; status: 200 } };
  "/worker/claim": { $post: Endpoint<Json<HttpClaimRequest>, { tasks: Task[] }> };
  "/worker/tasks/:id/heartbeat": { $post: Endpoint<Id & Lease, Task> };
  "/worker/tasks/:id/progress": {
    $post: Endpoint<Id & Json<{ attempts: number; progress: unknown }>, Task>;
  };
  "/worker/tasks/:id/complete": {
    $post: Endpoint<Id & Json<{ attempts: number; result?: unknown }>, Task>;
  };
  "/worker/tasks/:id/fail": {
    $post: Endpoint<
      Id & Json<{ attempts: number; error: string; retry?: boolean; retryDelayMs?: number }>,
      Task
    >;
  };
  "/worker/tasks/:id/release": { $post: Endpoint<Id & Lease, Task> };
  "/worker/cancellations": { $post: Endpoint<Json<{ ids: number[] }>, { ids: number[] }> };
  "/worker/register": { $post: Endpoint<Json<WorkerRegistration>, { id: string }> };
  "/worker/deregister": { $post: Endpoint<Json<{ id: string }>, { deregistered: boolean }> };
  "/worker/maintain": {
    $post: Endpoint<None, { scheduled: number[]; pruned: number }>;
  };
  "/openapi.json": { $get: Endpoint<None, Record<string, unknown>> };
};

/**
 * The sub-app's type, a `Hono` app with the routes of {@linkcode QueueSchema}, for a typed client:
 * `hc<QueueApp>(url)` from `hono/client`.
 */
export type QueueApp = HonoApp<QueueSchema>;

/** A task to enqueue over HTTP, typed by one of a registry's definitions. */
export type TypedEnqueueRequest<D extends AnyTaskDefinition> = D extends AnyTaskDefinition
  ? Omit<EnqueueRequest, "taskType" | "payload"> & {
    /** One of the registry's task types. */
    taskType: D["type"];
    /** That type's payload. */
    payload: PayloadInput<D>;
  }
  : never;

/**
 * {@linkcode QueueSchema} with the enqueue routes typed by a registry's definitions.
 *
 * @internal
 */
type TypedQueueSchema<D extends AnyTaskDefinition> =
  & Omit<QueueSchema, "/tasks" | "/tasks/batch">
  & {
    "/tasks": {
      $get: QueueSchema["/tasks"]["$get"];
      $post:
        | Endpoint<Json<TypedEnqueueRequest<D>>, { id: number; created: boolean; task: Task }, 201>
        | Endpoint<Json<TypedEnqueueRequest<D>>, { id: number; created: boolean; task: Task }, 200>;
    };
    "/tasks/batch": {
      $post: Endpoint<Json<{ tasks: TypedEnqueueRequest<D>[] }>, { ids: number[] }, 201>;
    };
  };

/**
 * {@linkcode QueueApp} for an app served with a registry (`createQueueApp(queue, { tasks })`):
 * `hc<TypedQueueApp<typeof tasks>>(url)` types `POST /tasks` and `POST /tasks/batch` bodies by
 * task type (a misspelt type or a wrong payload is a compile error).
 */
export type TypedQueueApp<R> = HonoApp<TypedQueueSchema<DefinitionsOf<R>>>;
