/**
 * What JSON data is to a queue: {@linkcode jsonProblem} explains why a value does not survive a
 * JSON round trip, the `json` valibot schema refuses such a value (payloads, results, progress),
 * and {@linkcode parseResult} turns a handler's result into what is stored, as `JSON.stringify`
 * would, or throws a `ValidationError` naming why it cannot.
 *
 * @module
 */

import * as v from "valibot";
import { ValidationError } from "./errors.ts";
import { LIMITS } from "./_limits.ts";

/**
 * Explains why a value does not survive a JSON round trip, or returns `null` when it does.
 * `undefined` object properties are allowed (JSON drops them); anything else that JSON would
 * change or reject is not.
 */
export function jsonProblem(value: unknown): string | null {
  const problem = findProblem(value, []);
  if (!problem) return null;
  // The path is spelled only once a problem is found: a valid payload costs no strings.
  let at = "";
  for (const step of problem.path.reverse()) {
    at += typeof step === "number" ? `[${step}]` : at ? `.${step}` : step;
  }
  return problem.describe(at || "value");
}

interface JsonProblem {
  /** From the problem up to the root (reversed when spelled). */
  readonly path: (string | number)[];
  readonly describe: (at: string) => string;
}

function findProblem(value: unknown, ancestors: object[]): JsonProblem | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value)
        ? null
        : { path: [], describe: (at) => `${at} is ${value}, which JSON cannot hold` };
    case "bigint":
      return {
        path: [],
        describe: (at) => `${at} is a BigInt, which JSON cannot hold (pass a string or a number)`,
      };
    case "function":
    case "symbol":
    case "undefined": {
      const kind = typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
      return { path: [], describe: (at) => `${at} is ${kind}, which JSON cannot hold` };
    }
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.includes(object)) {
    return { path: [], describe: (at) => `${at} is a circular reference` };
  }
  if (ancestors.length >= LIMITS.jsonDepth) {
    return {
      path: [],
      describe: (at) => `${at} is nested deeper than ${LIMITS.jsonDepth} levels`,
    };
  }
  if (Array.isArray(object)) {
    ancestors.push(object);
    for (let i = 0; i < object.length; i++) {
      const problem = findProblem(object[i], ancestors);
      if (problem) return problem.path.push(i), problem;
    }
    ancestors.pop();
    return null;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const kind = object.constructor?.name ?? "object";
    return {
      path: [],
      describe: (at) => `${at} is a ${kind}, not a plain object (convert it to JSON data first)`,
    };
  }
  ancestors.push(object);
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const item = (object as Record<string, unknown>)[key];
    if (item === undefined) continue;
    const problem = findProblem(item, ancestors);
    if (problem) return problem.path.push(key), problem;
  }
  ancestors.pop();
  return null;
}

// Typed `unknown` here (checked at run time) because JsonValue's recursion defeats valibot's types.
export const json = v.custom<unknown>(
  (input) => jsonProblem(input) === null,
  (issue) => `must be JSON data: ${jsonProblem(issue.input)}`,
);

/**
 * A handler's result as it is stored: serialised the way `JSON.stringify` would (a `Date` as its
 * ISO string through `toJSON`, `undefined` properties dropped, `NaN` as `null`, `-0` as `0`;
 * nothing, or a top-level function, as `null`). JSON data is returned as it is (the common answers,
 * nothing or a scalar, without a walk). A result that cannot be serialised at all (a cycle, a
 * BigInt, a `toJSON` or getter that throws) or that is nested deeper than `LIMITS.jsonDepth`
 * levels throws a `ValidationError` naming why, with what `JSON.stringify` threw as its `cause`.
 */
export function parseResult(input: unknown, what: string): unknown {
  if (input === undefined || input === null) return null;
  const kind = typeof input;
  if (kind === "string" || kind === "boolean") return input;
  if (kind === "number") return Number.isFinite(input) ? (input === 0 ? 0 : input) : null;
  let problem: string | null;
  try {
    problem = jsonProblem(input);
  } catch {
    problem = "a getter threw"; // JSON.stringify below says what
  }
  if (problem === null) return input;
  let serialised: string | undefined;
  try {
    serialised = JSON.stringify(input);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ValidationError(
      `Invalid ${what}: must be serialisable as JSON (JSON.stringify threw: ${reason})`,
      { cause: error },
    );
  }
  if (serialised === undefined) return null; // a function or a symbol: nothing, like undefined
  const value: unknown = JSON.parse(serialised);
  const left = jsonProblem(value); // what JSON.stringify keeps but a queue does not: depth
  if (left !== null) throw new ValidationError(`Invalid ${what}: must be JSON data: ${left}`);
  return value;
}
