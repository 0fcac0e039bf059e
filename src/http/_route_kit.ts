/**
 * What every route of the HTTP API shares: the error body, the validators (JSON bodies, queries,
 * path parameters) that turn a failed valibot check into a 400 naming the field, and the mapping
 * of the queue's named errors to statuses.
 *
 * @module
 */

import { sValidator } from "@hono/standard-validator";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { LeaseLostError, TaskNotFoundError, TaskStateError, ValidationError } from "../errors.ts";
import { describeIssue } from "../_validation.ts";
import type { ErrorBody, ErrorCode } from "./api_types.ts";

/** The JSON body of every error answer. */
export const errorBody = (code: ErrorCode, message: string, issues?: string[]): ErrorBody => ({
  error: issues ? { code, message, issues } : { code, message },
});

/** Turns a failed Standard Schema validation into our 400. */
interface Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

export function invalid(target: string) {
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
export const json = <S extends Schema>(schema: S) => {
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
/** A query validated by `schema`. */
export const query = <S extends Schema>(schema: S) => sValidator("query", schema, invalid("query"));
/** Path parameters validated by `schema`. */
export const param = <S extends Schema>(schema: S) => sValidator("param", schema, invalid("path"));

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
