/**
 * Shared helpers of the CLI test files (`cli_test.ts`, `cli_serve_test.ts`): the path of `cli.ts`,
 * running `tasklite <args>` in a process, and the assertions on usage errors and stack traces.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runScript } from "./_helpers.ts";

/** The path of `cli.ts`. */
export const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
/** The options of a CLI test: processes are slow. */
export const SLOW = { timeout: 120_000 };

/** Runs `tasklite <args>` in a process. */
export const cli = (...args: string[]) => runScript(CLI, args);

/** Asserts a usage error: exit 2, the message, and the pointer to the help. */
export function assertUsage(
  result: { code: number | null; stdout: string; stderr: string },
  message: RegExp,
  help = "tasklite --help",
) {
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, message);
  assert.ok(result.stderr.includes(`Run '${help}' for usage.`), result.stderr);
  assert.equal(result.stdout, "");
  assertNoStack(result.stderr);
}

/** Asserts that stderr holds no stack trace. */
export function assertNoStack(stderr: string) {
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
}
