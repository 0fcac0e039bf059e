/**
 * The HTTP API's errors: the error body every route answers with, and the mapping of the queue's
 * named errors (and Hono's) to statuses. (The validators stay in `app.ts`: their inferred types
 * cannot be named in a declaration file.)
 *
 * @module
 */

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { LeaseLostError, TaskNotFoundError, TaskStateError, ValidationError } from "../errors.ts";
import type { ErrorBody, ErrorCode } from "./api_types.ts";

/** The JSON body of every error answer. */
export const errorBody = (code: ErrorCode, message: string, issues?: string[]): ErrorBody => ({
  error: issues ? { code, message, issues } : { code, message },
});

/** Maps the queue's errors to statuses. */
export function toHttpError(error: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const code: ErrorCode = status === 413
      ? "payload_too_large"
      : status === 415
      ? "unsupported_media_type"
      : status === 401
      ? "unauthorized"
      : status === 403
      ? "forbidden"
      : status === 404
      ? "not_found"
      : "bad_request";
    return { status, body: errorBody(code, error.message || "Bad request") };
  }
  if (error instanceof TaskNotFoundError) {
    return { status: 404, body: errorBody("not_found", error.message) };
  }
  if (error instanceof LeaseLostError) {
    return { status: 409, body: errorBody("lease_lost", error.message) };
  }
  if (error instanceof TaskStateError) {
    return { status: 409, body: errorBody("conflict", error.message) };
  }
  if (error instanceof ValidationError) {
    return { status: 400, body: errorBody("bad_request", error.message) };
  }
  return { status: 500, body: errorBody("internal", "Internal error") };
}
