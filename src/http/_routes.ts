/**
 * The route table of the HTTP API: every route's method, path, operation id, scope, schemas and
 * answer, one source for the OpenAPI document (`_openapi.ts`) and the tests that check it against
 * the app's routes.
 *
 * @module
 */

import type * as v from "valibot";
import * as S from "./_schemas.ts";

type Schema = v.GenericSchema;
type Method = "get" | "post" | "put" | "delete";

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
