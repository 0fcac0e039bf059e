/**
 * Command-line parsing for the `tasklite` CLI: options through `node:util`'s `parseArgs` (the same
 * on Deno, Bun and Node.js), with our own checks so that every runtime reports a bad option the
 * same way; and parsers for the values options take.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { TaskPriority } from "../task.ts";

/**
 * An error the CLI reports in one line, without a stack trace: exit code 2 for a usage error (a
 * bad command, option or argument), 1 for an operational failure.
 *
 * @example Usage
 * ```ts ignore
 * throw new CliError("Invalid --limit: expected an integer, got \"ten\"", 2);
 * ```
 */
export class CliError extends Error {
  /** The process exit code: 2 for usage errors, 1 otherwise. */
  readonly exitCode: 1 | 2;
  /**
   * Creates the error.
   *
   * @param message The line printed after `tasklite: `.
   * @param exitCode 2 for a usage error, 1 for an operational failure.
   */
  constructor(message: string, exitCode: 1 | 2) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A usage error (exit code 2). */
export const usageError = (message: string): CliError => new CliError(message, 2);

/** One option a command accepts. */
export interface OptionSpec {
  /** A flag, or an option that takes a value. */
  type: "boolean" | "string";
  /** Whether the option may be given several times (its values are collected in order). */
  multiple?: boolean;
  /** A one-letter alias, such as `h` for `-h`. */
  short?: string;
  /** The value's placeholder in help, such as `<n>`. */
  value?: string;
  /** One line of help. */
  description: string;
}

/** Options by long name (without `--`). */
export type OptionSpecs = Record<string, OptionSpec>;

/** Parsed options and positionals. */
export interface ParsedArgs {
  /** `true` for flags given, strings for options, arrays for `multiple` options. */
  values: Record<string, string | boolean | string[]>;
  /** The positional arguments, in order. */
  positionals: string[];
}

/**
 * Parses `args` against `specs`. Unlike `parseArgs`' strict mode, the errors read the same on every
 * runtime, and a value may start with `-` (such as `--delay-ms -1`, which is then rejected by the
 * value's own check) but not with `--` unless given inline (`--name=--x`), which catches a
 * forgotten value.
 *
 * @example Usage
 * ```ts ignore
 * const { values, positionals } = parseCommandArgs(["failed", "--limit", "5"], {
 *   limit: { type: "string", value: "<n>", description: "At most this many" },
 * });
 * // values.limit === "5", positionals = ["failed"]
 * ```
 *
 * @param args The arguments after the command name.
 * @param specs The options the command accepts.
 * @returns The values and positionals.
 * @throws {CliError} An unknown option, a missing value, or a value given to a flag (exit 2).
 */
export function parseCommandArgs(args: readonly string[], specs: OptionSpecs): ParsedArgs {
  const tokens = tokenize(args, specs);
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== "option") continue;
    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    if (!spec) throw usageError(`Unknown option ${token.rawName}`);
    const display = `--${token.name}`;
    if (spec.type === "boolean") {
      if (token.value !== undefined) throw usageError(`Option ${display} takes no value`);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith("--"))) {
      throw usageError(`Option ${display} needs a value: ${display} ${spec.value ?? "<value>"}`);
    }
    if (spec.multiple) {
      const previous = values[token.name];
      values[token.name] = [...(Array.isArray(previous) ? previous : []), value];
    } else {
      values[token.name] = value;
    }
  }
  return { values, positionals };
}

/**
 * The index of the first positional argument (the command name), given the options that may come
 * before it, or `-1`.
 *
 * @param args All arguments.
 * @param specs The options allowed before the command (such as `--db <file>`).
 * @returns The index in `args`, or -1.
 */
export function commandIndex(args: readonly string[], specs: OptionSpecs): number {
  const tokens = tokenize(args, specs);
  for (const token of tokens) {
    if (token.kind === "positional") return token.index;
  }
  return -1;
}

/** `parseArgs`' tokens, leniently: our callers check them. */
function tokenize(args: readonly string[], specs: OptionSpecs) {
  const options: Record<string, { type: "boolean" | "string"; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  return parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  }).tokens;
}

/** A string option's value, if given. */
export function stringOption(values: ParsedArgs["values"], name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A multiple option's values (empty when not given). */
export function listOption(values: ParsedArgs["values"], name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
}

/**
 * Parses a decimal integer.
 *
 * @param raw The text.
 * @param what What it is, for the error (such as `--limit`).
 * @param min The smallest value allowed.
 * @param max The largest value allowed.
 * @returns The integer.
 * @throws {CliError} Not an integer in range (exit 2).
 */
export function parseInteger(
  raw: string,
  what: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw usageError(`Invalid ${what}: expected an integer ${range}, got "${raw}"`);
  }
  return value;
}

/**
 * Parses a task id: a positive integer.
 *
 * @param raw The text.
 * @returns The id.
 * @throws {CliError} Not a positive integer (exit 2).
 */
export function parseId(raw: string): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw usageError(`Invalid task id: expected a positive integer, got "${raw}"`);
  }
  return value;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration: a number with a unit (`ms`, `s`, `m`, `h`, `d`, `w`), such as `7d`, `12h`,
 * `30m`, `45s` or `1.5h`, or a bare number of milliseconds.
 *
 * @example Usage
 * ```ts ignore
 * parseDuration("7d", "--older-than"); // 604800000
 * parseDuration("1500", "--older-than"); // 1500
 * ```
 *
 * @param raw The text.
 * @param what What it is, for the error.
 * @returns Milliseconds (rounded to an integer).
 * @throws {CliError} Not a duration (exit 2).
 */
export function parseDuration(raw: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/i.exec(raw.trim());
  const ms = match ? Math.round(Number(match[1]) * UNITS[(match[2] ?? "ms").toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw usageError(
      `Invalid ${what}: expected a duration such as 7d, 12h, 30m, 45s or a number of milliseconds, got "${raw}"`,
    );
  }
  return ms;
}

/**
 * Parses a priority: `low`, `normal`, `high`, `critical` (any case) or `1` to `4`.
 *
 * @param raw The text.
 * @returns The priority.
 * @throws {CliError} Not a priority (exit 2).
 */
export function parsePriority(raw: string): TaskPriority {
  const name = raw.trim().toUpperCase();
  if (Object.hasOwn(TaskPriority, name)) return TaskPriority[name as keyof typeof TaskPriority];
  const number = Number(raw);
  if (([1, 2, 3, 4] as number[]).includes(number) && /^\d$/.test(raw.trim())) {
    return number as TaskPriority;
  }
  throw usageError(
    `Invalid --priority: expected low, normal, high, critical or 1-4, got "${raw}"`,
  );
}

/**
 * Parses JSON text.
 *
 * @param raw The text.
 * @param what What it is, for the error.
 * @returns The value.
 * @throws {CliError} Not JSON (exit 2).
 */
export function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw usageError(`Invalid ${what}: not JSON (${reason})`);
  }
}
