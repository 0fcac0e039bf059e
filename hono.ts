/**
 * The queue over HTTP: a Hono sub-app to mount in any Bun, Deno or Node server, with a JSON API,
 * worker endpoints for remote workers, Server-Sent Events, an OpenAPI document and a dashboard.
 * Importing `mod.ts` alone never loads Hono.
 *
 * @example Mount it
 * ```ts
 * import { Hono } from "hono";
 * import { TaskQueue } from "@tasklite/tasklite";
 * import { createQueueApp } from "@tasklite/tasklite/hono";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const app = new Hono();
 * app.route("/queue", createQueueApp(queue, { auth: { writeTokens: ["a-long-secret"] } }));
 * // Bun.serve({ fetch: app.fetch }) / Deno.serve(app.fetch) / serve() from @hono/node-server
 * await queue.close();
 * ```
 *
 * @module
 */

export { createQueueApp, type QueueAppOptions } from "./src/http/app.ts";
export { ERROR_CODES } from "./src/http/api_types.ts";
export type {
  EnqueueRequest,
  ErrorBody,
  ErrorCode,
  HttpClaimRequest,
  QueueApp,
  QueueSchema,
  ScheduleRequest,
  TypedEnqueueRequest,
  TypedQueueApp,
} from "./src/http/api_types.ts";
export type { AuthOptions } from "./src/http/_auth.ts";
export { openApiDocument, type OpenApiOptions } from "./src/http/_openapi.ts";
