/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same valibot schemas that
 * validate the requests (through `@valibot/to-json-schema`, JSON Schema 2020-12 as OpenAPI 3.1
 * uses).
 *
 * @module
 */

import { toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import { ERROR_CODES } from "./api_types.ts";
import type * as v from "valibot";
import type { TaskRegistry } from "../typed_tasks.ts";
import * as S from "./_schemas.ts";

type Method = "get" | "post" | "put" | "delete";
type Schema = v.GenericSchema;

/** One documented route. */
export interface RouteDoc {
  /** HTTP method. */
  method: Method;
  /** Path relative to the mount point, with `:param`s. */
  path: string;
  /** The operation's name in the document (unique), for generated clients. */
  operationId: string;
  /** What it does. */
  summary: string;
  /** The token scope it needs. */
  scope: "read" | "write" | "none";
  /** The JSON body schema. */
  body?: Schema;
  /** The query schema. */
  query?: Schema;
  /** The success status and what it returns. */
  returns: [status: number, description: string];
}

/** Every route of the API (a test checks this against the app's routes). */
export const ROUTES: readonly RouteDoc[] = [
  {
    method: "get",
    path: "/stats",
    operationId: "getStats",
    summary: "Task counts per status",
    scope: "read",
    returns: [200, "{ pending, running, completed, failed, cancelled }"],
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    summary: "Prometheus text exposition",
    scope: "read",
    returns: [200, "text/plain metrics"],
  },
  {
    method: "get",
    path: "/metrics.json",
    operationId: "getMetricsJson",
    summary: "Metrics per task type",
    scope: "read",
    returns: [200, "QueueMetrics"],
  },
  {
    method: "get",
    path: "/history",
    operationId: "getHistory",
    summary: "Throughput, backlog and percentiles per minute, from the stored history",
    scope: "read",
    query: S.HistoryQuery,
    returns: [200, "QueueHistory"],
  },
  {
    method: "get",
    path: "/tasks",
    operationId: "listTasks",
    summary: "Tasks with a status (pending: next to run first; others: newest first)",
    scope: "read",
    query: S.ListQuery,
    returns: [200, "{ tasks, limit, offset }"],
  },
  {
    method: "post",
    path: "/tasks",
    operationId: "enqueueTask",
    summary: "Enqueue a task (Idempotency-Key header → uniqueKey)",
    scope: "write",
    body: S.EnqueueBody,
    returns: [
      201,
      "{ id, created: true, task }; 200 { id, created: false, task } for a key already live",
    ],
  },
  {
    method: "post",
    path: "/tasks/batch",
    operationId: "enqueueTasks",
    summary: "Enqueue tasks in one transaction",
    scope: "write",
    body: S.EnqueueManyBody,
    returns: [201, "{ ids }"],
  },
  {
    method: "post",
    path: "/tasks/retry-failed",
    operationId: "retryFailedTasks",
    summary: "Redrive failed tasks in bulk",
    scope: "write",
    body: S.RetryFailedBody,
    returns: [200, "{ ids, count }: the redriven ids"],
  },
  {
    method: "post",
    path: "/tasks/cancel-pending",
    operationId: "cancelPendingTasks",
    summary: "Cancel every pending task matching a filter (search, type, priority, due)",
    scope: "write",
    body: S.CancelPendingBody,
    returns: [200, "{ ids, count }: the cancelled ids"],
  },
  {
    method: "post",
    path: "/tasks/prune",
    operationId: "pruneTasks",
    summary: "Delete finished tasks older than olderThanMs",
    scope: "write",
    body: S.PruneBody,
    returns: [200, "{ deleted }"],
  },
  {
    method: "get",
    path: "/tasks/:id",
    operationId: "getTask",
    summary: "One task",
    scope: "read",
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/tasks/:id/cancel",
    operationId: "cancelTask",
    summary: "Cancel a pending task, or ask a running one to stop",
    scope: "write",
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/tasks/:id/retry",
    operationId: "retryTask",
    summary: "Redrive a failed or cancelled task",
    scope: "write",
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/tasks/:id/promote",
    operationId: "promoteTask",
    summary: "Make a pending task that is due later due now",
    scope: "write",
    returns: [200, "Task"],
  },

  {
    method: "get",
    path: "/tasks/:id/explain",
    operationId: "explainTask",
    summary: "Why a task is not running: every reason, with its code and data",
    scope: "read",
    returns: [200, "{ task, runnable, reasons: [{ code, message, ... }] }"],
  },
  {
    method: "get",
    path: "/tasks/:id/wait",
    operationId: "waitForTask",
    summary: "Long poll: answers once the task is finished, or after timeoutMs (at most 30 s)",
    scope: "read",
    query: S.WaitQuery,
    returns: [200, "{ finished, task }: finished false when timeoutMs passed first"],
  },
  {
    method: "get",
    path: "/workers",
    operationId: "listWorkers",
    summary: "The worker registry: live workers and recently dead ones (alive: false)",
    scope: "read",
    returns: [200, "WorkerInfo[]"],
  },
  {
    method: "get",
    path: "/controls",
    operationId: "getControls",
    summary: "Pause flags and limits per task type",
    scope: "read",
    returns: [200, "TypeControl[]"],
  },
  {
    method: "post",
    path: "/pause",
    operationId: "pause",
    summary: "Pause a task type, or the whole queue",
    scope: "write",
    body: S.PauseBody,
    returns: [200, "TypeControl[]"],
  },
  {
    method: "post",
    path: "/resume",
    operationId: "resume",
    summary: "Resume a task type, or the whole queue",
    scope: "write",
    body: S.PauseBody,
    returns: [200, "TypeControl[]"],
  },
  {
    method: "put",
    path: "/limits/:taskType",
    operationId: "setLimits",
    summary: "Set a task type's concurrency and rate limits",
    scope: "write",
    body: S.LimitsBody,
    returns: [200, "TypeControl[]"],
  },
  {
    method: "get",
    path: "/schedules",
    operationId: "listSchedules",
    summary: "Recurring schedules",
    scope: "read",
    returns: [200, "Schedule[]"],
  },
  {
    method: "put",
    path: "/schedules/:name",
    operationId: "putSchedule",
    summary: "Create or replace a recurring schedule",
    scope: "write",
    body: S.ScheduleBody,
    returns: [200, "Schedule"],
  },
  {
    method: "post",
    path: "/schedules/:name/run",
    operationId: "runSchedule",
    summary: "Enqueue a schedule's task now (its slots stay as they are)",
    scope: "write",
    returns: [201, "{ id }"],
  },
  {
    method: "post",
    path: "/schedules/:name/pause",
    operationId: "pauseSchedule",
    summary: "Pause a schedule",
    scope: "write",
    returns: [200, "Schedule"],
  },
  {
    method: "post",
    path: "/schedules/:name/resume",
    operationId: "resumeSchedule",
    summary: "Resume a schedule from its next slot",
    scope: "write",
    returns: [200, "Schedule"],
  },
  {
    method: "delete",
    path: "/schedules/:name",
    operationId: "deleteSchedule",
    summary: "Remove a schedule",
    scope: "write",
    returns: [200, "{ deleted }"],
  },
  {
    method: "get",
    path: "/events",
    operationId: "streamEvents",
    summary:
      "Server-Sent Events: enqueued, started, completed, failed, dead, retried, cancelled, progress (resume with Last-Event-ID)",
    scope: "read",
    returns: [200, "text/event-stream"],
  },
  {
    method: "post",
    path: "/worker/claim",
    operationId: "claimTasks",
    summary: "Claim due tasks with a lease; waitMs long-polls",
    scope: "write",
    body: S.ClaimBody,
    returns: [200, "{ tasks }"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/heartbeat",
    operationId: "heartbeatTask",
    summary: "Extend a lease",
    scope: "write",
    body: S.LeaseBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/progress",
    operationId: "progressTask",
    summary: "Record progress",
    scope: "write",
    body: S.ProgressBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/complete",
    operationId: "completeTask",
    summary: "Complete a claimed task",
    scope: "write",
    body: S.CompleteBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/fail",
    operationId: "failTask",
    summary: "Fail an attempt of a claimed task",
    scope: "write",
    body: S.FailBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/release",
    operationId: "releaseTask",
    summary: "Give a claim back",
    scope: "write",
    body: S.LeaseBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/cancellations",
    operationId: "cancelRequested",
    summary: "Which of these running tasks were asked to cancel",
    scope: "write",
    body: S.CancellationsBody,
    returns: [200, "{ ids }"],
  },
  {
    method: "post",
    path: "/worker/register",
    operationId: "registerWorker",
    summary: "Record a worker in the registry, or its heartbeat",
    scope: "write",
    body: S.RegisterBody,
    returns: [200, "{ id }"],
  },
  {
    method: "post",
    path: "/worker/deregister",
    operationId: "deregisterWorker",
    summary: "Remove a stopped worker from the registry",
    scope: "write",
    body: S.DeregisterBody,
    returns: [200, "{ deregistered }: false when it was not registered"],
  },
  {
    method: "post",
    path: "/worker/maintain",
    operationId: "maintain",
    summary: "Fire due schedules and apply retention",
    scope: "write",
    returns: [200, "{ scheduled, pruned }"],
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This document",
    scope: "none",
    returns: [200, "OpenAPI 3.1"],
  },
];

const CONVERSION = { target: "draft-2020-12", errorMode: "ignore" } as const;
const ref = (name: string) => `#/components/schemas/${name}`;

/** The request bodies, named as `_schemas.ts` exports them: the document's reusable schemas. */
const BODIES: Record<string, Schema> = Object.fromEntries(
  Object.entries(S).filter(([, schema]) => ROUTES.some((route) => route.body === schema)),
);
const nameOf = new Map(Object.entries(BODIES).map(([name, schema]) => [schema, name]));

/** Every error response's body. */
const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { enum: [...ERROR_CODES] },
        message: { type: "string" },
        issues: { type: "array", items: { type: "string" } },
      },
    },
  },
};

const ERROR = {
  description: "Error",
  content: { "application/json": { schema: { $ref: ref("Error") } } },
};

let cached: { paths: Record<string, unknown>; schemas: Record<string, unknown> } | null = null;

/** The parts of the document that do not depend on where it is served (built once). */
function build(): { paths: Record<string, unknown>; schemas: Record<string, unknown> } {
  if (cached) return cached;
  const schemas = {
    ...toJsonSchemaDefs(BODIES, {
      ...CONVERSION,
      overrideRef: ({ referenceId }) => ref(referenceId),
    }),
    Error: ERROR_SCHEMA,
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const parameters = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: name === "id" ? { type: "integer", minimum: 1 } : { type: "string" },
    }));
    if (route.query) {
      const schema = toJsonSchema(route.query, CONVERSION) as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: "query",
          required: schema.required?.includes(name) ?? false,
          schema: property as never,
        });
      }
    }
    const [status, description] = route.returns;
    const errors = Object.fromEntries(
      [
        ["400", route.body || route.query || parameters.length > 0],
        ["401", route.scope !== "none"],
        ["403", route.scope === "write"],
        ["404", route.path.includes(":")],
        ["409", route.path.startsWith("/worker/tasks") || /cancel|retry$/.test(route.path)],
        ["413", route.body !== undefined],
        ["415", route.body !== undefined],
      ].filter(([, applies]) => applies).map(([code]) => [code, ERROR]),
    );
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.scope === "none" ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: ref(nameOf.get(route.body)!) } } },
          },
        }
        : {}),
      responses: { [String(status)]: { description }, ...errors },
    };
  }
  return cached = { paths, schemas };
}

/** Options of {@linkcode openApiDocument}. */
export interface OpenApiOptions {
  /**
   * Typed tasks (`defineTasks`): the enqueue bodies are then documented per task type, `oneOf`
   * one schema per type (`Enqueue_<type>`, its `payload` from the type's schema).
   *
   * @default {undefined (one body for any task type)}
   */
  tasks?: TaskRegistry;
}

/** The enqueue bodies of a registry's task types: their schemas, and the `oneOf` over them. */
function typedBodies(tasks: TaskRegistry): {
  schemas: Record<string, unknown>;
  oneOf: { $ref: string }[];
} {
  const base = toJsonSchema(S.EnqueueBody, CONVERSION) as {
    properties: Record<string, unknown>;
    required?: string[];
  };
  const schemas: Record<string, unknown> = {};
  for (const type of tasks.types) {
    const definition = tasks.get(type)!;
    const { $schema: _, ...payload } = toJsonSchema(definition.payload, CONVERSION) as Record<
      string,
      unknown
    >;
    const name = `Enqueue_${type.replace(/[^\w.-]/g, "_")}`;
    const { $schema: __, ...body } = base as Record<string, unknown>;
    schemas[name] = {
      ...body,
      properties: { ...base.properties, taskType: { const: type }, payload },
      required: [...new Set([...(base.required ?? []), "taskType", "payload"])],
    };
  }
  return { schemas, oneOf: Object.keys(schemas).map((name) => ({ $ref: ref(name) })) };
}

/**
 * The OpenAPI document of the API served at `base`.
 *
 * @example Usage
 * ```ts
 * import { openApiDocument } from "@tasklite/tasklite/hono";
 *
 * const doc = openApiDocument("/queue");
 * console.log(doc.servers); // [{ url: "/queue" }]
 * ```
 *
 * @param base The mount path the API is served under (`/queue`), or a full URL.
 * @param options Typed tasks, to document the enqueue bodies per task type.
 * @returns The document: `paths` with an `operationId` each, request bodies as references to
 * `components.schemas`, and `servers` naming `base`.
 */
export function openApiDocument(base = "", options: OpenApiOptions = {}): Record<string, unknown> {
  let { paths, schemas } = build();
  if (options.tasks) {
    const typed = typedBodies(options.tasks);
    const body = (schema: unknown) => ({
      required: true,
      content: { "application/json": { schema } },
    });
    const at = (path: string) => paths[path] as { post: Record<string, unknown> };
    paths = {
      ...paths,
      "/tasks": {
        ...at("/tasks"),
        post: { ...at("/tasks").post, requestBody: body({ oneOf: typed.oneOf }) },
      },
      "/tasks/batch": {
        ...at("/tasks/batch"),
        post: {
          ...at("/tasks/batch").post,
          requestBody: body({
            type: "object",
            required: ["tasks"],
            properties: { tasks: { type: "array", items: { oneOf: typed.oneOf } } },
          }),
        },
      },
    };
    schemas = { ...schemas, ...typed.schemas };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "tasklite",
      version: "0.1.0",
      description: "A durable task queue in one SQLite file, over HTTP.",
    },
    servers: [{ url: base.replace(/\/+$/, "") || "/" }],
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
