/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same valibot schemas that
 * validate the requests (through `@valibot/to-json-schema`, JSON Schema 2020-12 as OpenAPI 3.1
 * uses).
 *
 * @module
 */

import { toJsonSchema } from "@valibot/to-json-schema";
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
    summary: "Task counts per status",
    scope: "read",
    returns: [200, "{ pending, running, completed, failed, cancelled }"],
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus text exposition",
    scope: "read",
    returns: [200, "text/plain metrics"],
  },
  {
    method: "get",
    path: "/metrics.json",
    summary: "Metrics per task type",
    scope: "read",
    returns: [200, "QueueMetrics"],
  },
  {
    method: "get",
    path: "/tasks",
    summary: "Tasks with a status, newest first",
    scope: "read",
    query: S.ListQuery,
    returns: [200, "{ tasks, limit, offset }"],
  },
  {
    method: "post",
    path: "/tasks",
    summary: "Enqueue a task (Idempotency-Key header → uniqueKey)",
    scope: "write",
    body: S.EnqueueBody,
    returns: [201, "{ id, task }"],
  },
  {
    method: "post",
    path: "/tasks/batch",
    summary: "Enqueue tasks in one transaction",
    scope: "write",
    body: S.EnqueueManyBody,
    returns: [201, "{ ids }"],
  },
  {
    method: "post",
    path: "/tasks/retry-failed",
    summary: "Redrive failed tasks in bulk",
    scope: "write",
    body: S.RetryFailedBody,
    returns: [200, "{ tasks }"],
  },
  { method: "get", path: "/tasks/:id", summary: "One task", scope: "read", returns: [200, "Task"] },
  {
    method: "post",
    path: "/tasks/:id/cancel",
    summary: "Cancel a pending task, or ask a running one to stop",
    scope: "write",
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/tasks/:id/retry",
    summary: "Redrive a failed or cancelled task",
    scope: "write",
    returns: [200, "Task"],
  },
  {
    method: "get",
    path: "/controls",
    summary: "Pause flags and limits per task type",
    scope: "read",
    returns: [200, "TypeControl[]"],
  },
  {
    method: "post",
    path: "/pause",
    summary: "Pause a task type, or the whole queue",
    scope: "write",
    body: S.PauseBody,
    returns: [200, "TypeControl[]"],
  },
  {
    method: "post",
    path: "/resume",
    summary: "Resume a task type, or the whole queue",
    scope: "write",
    body: S.PauseBody,
    returns: [200, "TypeControl[]"],
  },
  {
    method: "put",
    path: "/limits/:taskType",
    summary: "Set a task type's concurrency and rate limits",
    scope: "write",
    body: S.LimitsBody,
    returns: [200, "TypeControl[]"],
  },
  {
    method: "get",
    path: "/schedules",
    summary: "Recurring schedules",
    scope: "read",
    returns: [200, "Schedule[]"],
  },
  {
    method: "put",
    path: "/schedules/:name",
    summary: "Create or replace a recurring schedule",
    scope: "write",
    body: S.ScheduleBody,
    returns: [200, "Schedule"],
  },
  {
    method: "delete",
    path: "/schedules/:name",
    summary: "Remove a schedule",
    scope: "write",
    returns: [200, "{ deleted }"],
  },
  {
    method: "get",
    path: "/events",
    summary:
      "Server-Sent Events: enqueued, started, completed, failed, dead, retried, cancelled, progress (resume with Last-Event-ID)",
    scope: "read",
    returns: [200, "text/event-stream"],
  },
  {
    method: "post",
    path: "/worker/claim",
    summary: "Claim due tasks with a lease; waitMs long-polls",
    scope: "write",
    body: S.ClaimBody,
    returns: [200, "{ tasks }"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/heartbeat",
    summary: "Extend a lease",
    scope: "write",
    body: S.LeaseBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/progress",
    summary: "Record progress",
    scope: "write",
    body: S.ProgressBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/complete",
    summary: "Complete a claimed task",
    scope: "write",
    body: S.CompleteBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/fail",
    summary: "Fail an attempt of a claimed task",
    scope: "write",
    body: S.FailBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/tasks/:id/release",
    summary: "Give a claim back",
    scope: "write",
    body: S.LeaseBody,
    returns: [200, "Task"],
  },
  {
    method: "post",
    path: "/worker/cancellations",
    summary: "Which of these running tasks were asked to cancel",
    scope: "write",
    body: S.CancellationsBody,
    returns: [200, "{ ids }"],
  },
  {
    method: "post",
    path: "/worker/maintain",
    summary: "Fire due schedules and apply retention",
    scope: "write",
    returns: [200, "{ scheduled, pruned }"],
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    scope: "none",
    returns: [200, "OpenAPI 3.1"],
  },
];

const jsonSchema = (schema: Schema) =>
  toJsonSchema(schema, { target: "draft-2020-12", errorMode: "ignore" });

const ERROR = {
  description: "Error",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: {
                enum: [
                  "bad_request",
                  "unauthorized",
                  "forbidden",
                  "not_found",
                  "conflict",
                  "lease_lost",
                  "payload_too_large",
                  "internal",
                ],
              },
              message: { type: "string" },
              issues: { type: "array", items: { type: "string" } },
            },
          },
        },
      },
    },
  },
};

let cached: Record<string, unknown> | null = null;

/**
 * The OpenAPI document (built once).
 *
 * @returns The document.
 */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
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
      const schema = jsonSchema(route.query) as {
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
      ].filter(([, applies]) => applies).map(([code]) => [code, ERROR]),
    );
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.summary,
      ...(route.scope === "none" ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: jsonSchema(route.body) } },
          },
        }
        : {}),
      responses: { [String(status)]: { description }, ...errors },
    };
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "tasklite",
      version: "0.1.0",
      description: "A durable task queue in one SQLite file, over HTTP.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
  return cached;
}
