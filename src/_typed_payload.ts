/**
 * What a typed task's payload goes through: at enqueue, parsed by its definition's schema (a
 * `ValidationError` naming the field) and stamped with the definition's version; at claim, its
 * stored version read, upgraded to the current one, parsed again (a `PermanentError` naming the
 * field when it no longer matches); a handler's result parsed by the result schema.
 *
 * The version lives in the stored payload, under {@linkcode VERSION_KEY} (no column): a payload
 * without it is version 1, so that version 1 stores payloads as they are, and tasks enqueued
 * before a definition had a version, or by untyped code, read as version 1.
 *
 * @module
 */

import * as v from "valibot";
import { PermanentError, ValidationError } from "./errors.ts";
import type { JsonValue, Task } from "./task.ts";
import { describeIssue } from "./_validation.ts";

/** The key of a stored payload that records the version of its definition (2 and later). */
export const VERSION_KEY = "$version";

/** What a payload needs of a task definition. */
export interface PayloadRules {
  readonly type: string;
  readonly payload: v.GenericSchema;
  readonly result?: v.GenericSchema | undefined;
  readonly version: number;
  readonly upgrade?: ((payload: unknown, fromVersion: number) => unknown) | undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The issues of a failed parse as `path message`, each path under `at`. */
function problemsOf(issues: readonly v.BaseIssue<unknown>[], at: string): string {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    return describeIssue(path ? `${at}.${path}` : at, issue.message);
  }).join("; ");
}

/**
 * A payload as enqueued: parsed by the definition's schema, stamped with its version.
 *
 * @param rules The definition.
 * @param payload The payload given.
 * @param what The input, for the message (`enqueue options`).
 * @param at The payload's path in it (`payload`, `1.payload`).
 * @returns The payload to store.
 */
export function encodePayload(
  rules: PayloadRules,
  payload: unknown,
  what: string,
  at: string,
): unknown {
  const parsed = v.safeParse(rules.payload, payload);
  if (!parsed.success) {
    throw new ValidationError(`Invalid ${what}: ${problemsOf(parsed.issues, at)}`, {
      issues: parsed.issues,
      cause: new v.ValiError(parsed.issues),
    });
  }
  if (rules.version === 1) return parsed.output;
  if (!isPlainObject(parsed.output) || VERSION_KEY in parsed.output) {
    throw new ValidationError(
      `Invalid ${what}: ${at} must be an object without a "${VERSION_KEY}" key: version ${rules.version} of "${rules.type}" is stored in it`,
    );
  }
  return { ...parsed.output, [VERSION_KEY]: rules.version };
}

/**
 * A claimed task's payload as its handler gets it: upgraded from its stored version, parsed.
 *
 * @param rules The definition.
 * @param task The claimed task.
 * @returns The parsed payload.
 * @throws {PermanentError} The stored payload (after its upgrade) does not match, or the upgrade
 * threw: retrying cannot help.
 * @throws {Error} It was stored under a newer version than this definition's (a retry may reach a
 * worker that knows it).
 */
export function decodePayload(rules: PayloadRules, task: Task): unknown {
  const about = `task ${task.id} ("${rules.type}")`;
  let from = 1;
  let body: unknown = task.payload;
  if (isPlainObject(task.payload) && VERSION_KEY in task.payload) {
    const { [VERSION_KEY]: version, ...rest } = task.payload as Record<string, JsonValue>;
    if (!(Number.isInteger(version) && (version as number) >= 1)) {
      throw new PermanentError(
        `Invalid payload of ${about}: ${VERSION_KEY} must be a positive integer`,
      );
    }
    from = version as number;
    body = rest;
  }
  if (from > rules.version) {
    throw new Error(
      `Cannot run ${about}: its payload is version ${from}, this worker knows up to version ${rules.version}`,
    );
  }
  if (from < rules.version && rules.upgrade) {
    try {
      body = rules.upgrade(body, from);
    } catch (error) {
      throw new PermanentError(
        `Cannot upgrade the payload of ${about} from version ${from} to ${rules.version}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }
  const parsed = v.safeParse(rules.payload, body);
  if (parsed.success) return parsed.output;
  const upgraded = from < rules.version ? `, upgraded from version ${from}` : "";
  throw new PermanentError(
    `Invalid payload of ${about} (version ${rules.version}${upgraded}): ${
      problemsOf(parsed.issues, "payload")
    }`,
    { cause: new v.ValiError(parsed.issues) },
  );
}

/**
 * A handler's result, parsed by the definition's result schema (as it is, without one).
 *
 * @throws {PermanentError} It does not match: the handler's bug, which a retry would repeat.
 */
export function checkResult(rules: PayloadRules, task: Task, result: unknown): unknown {
  if (!rules.result) return result;
  const parsed = v.safeParse(rules.result, result);
  if (parsed.success) return parsed.output;
  throw new PermanentError(
    `Invalid result of task ${task.id} ("${rules.type}"): ${problemsOf(parsed.issues, "result")}`,
    { cause: new v.ValiError(parsed.issues) },
  );
}
