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
    summary: "Set a task type's concurrency and rate limits (per type and per concurrency key)",
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
 * @returns The document: `paths` with an `operationId` each, request bodies as references to
 * `components.schemas`, and `servers` naming `base`.
 */
export function openApiDocument(base = ""): Record<string, unknown> {
  const { paths, schemas } = build();
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
