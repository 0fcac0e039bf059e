/**
 * What a CLI command is, what it is given, and the helpers commands share: opening the queue,
 * printing, and making text from the queue safe for a terminal.
 *
 * @module
 */

import { existsSync } from "node:fs";
import type { TaskQueue } from "../queue.ts";
import { ValidationError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { CliError, type OptionSpecs, type ParsedArgs } from "./args.ts";
import { checkPostgresQueue, describeTarget, isPostgresUrl } from "./_postgres.ts";

/** Where the CLI writes. Each call gets a whole chunk of text, newline included. */
export interface CliIo {
  /** Results. */
  stdout(text: string): void;
  /** Errors and notes. */
  stderr(text: string): void;
  /** Whether stdout is a terminal: long commands then show a progress line on it. */
  isTerminal?: boolean;
}

/**
 * How a command opens the queue: `read` opens it read-only (it must exist and be a queue, and is
 * left byte for byte as it was), `write` opens an existing file read-write, `create` may create
 * a new queue.
 */
export type OpenMode = "read" | "write" | "create";

/** Where the queue is: `--db` and `--schema`. */
export interface QueueTarget {
  /** The queue file, or a PostgreSQL URL (`--db`). */
  db: string;
  /** The PostgreSQL schema (`--schema`); undefined for the default, and always for SQLite. */
  schema?: string | undefined;
}

/** What a command runs with. */
export interface CommandContext extends ParsedArgs, QueueTarget {
  /** Where to write. */
  io: CliIo;
}

/** One `tasklite <command>`. */
export interface Command {
  /** The word that selects it. */
  name: string;
  /** Its positional arguments, for help, such as `<status>`. */
  args: string;
  /** One line for `tasklite --help`. */
  summary: string;
  /** More lines for `tasklite <command> --help`. */
  description: string;
  /** Its options (the global ones are added). */
  options: OptionSpecs;
  /** How many positionals it takes. */
  positionals: { min: number; max: number };
  /**
   * Runs it.
   *
   * @returns The exit code.
   */
  run(context: CommandContext): Promise<number>;
}

/**
 * Opens the queue at `db` (and `schema`, on PostgreSQL). Only `create` may create a missing file
 * or schema (a mistyped `--db` or `--schema` would otherwise create an empty queue and report
 * it); `read` opens a file read-only, so that a read command changes no file, not even one that
 * turns out not to be a queue, and on PostgreSQL refuses a schema that is missing, not a queue,
 * or would need migrating.
 *
 * @param target The file or URL, and the schema.
 * @param options How to open it (default `write`), and the queue's logger.
 * @returns The open queue.
 * @throws {CliError} The file or schema is missing (and may not be created), or cannot be opened
 * (exit 1).
 */
export async function openQueue(
  target: string | QueueTarget,
  options: { mode?: OpenMode; logger?: Logger } = {},
): Promise<TaskQueue> {
  const { db, schema } = typeof target === "string" ? { db: target, schema: undefined } : target;
  const mode = options.mode ?? "write";
  if (isPostgresUrl(db)) return await openPostgresQueue(db, schema, mode, options.logger);
  if (mode !== "create" && db !== ":memory:" && !existsSync(db)) {
    throw new CliError(
      `No queue at ${db}: the file does not exist (choose one with --db <file>)`,
      1,
    );
  }
  // Loaded here, not at the top: help and usage errors need no SQLite (faster on Node.js).
  const { TaskQueue } = await import("../queue.ts");
  try {
    return await TaskQueue.open(db, {
      ...(options.logger ? { logger: options.logger } : {}),
      ...(mode === "read" ? { readOnly: true } : {}),
    });
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    // "Cannot open the queue read-only: x" reads "Cannot open tasks.db read-only: x" here.
    const message = messageOf(error).replace(/^Cannot open the queue( read-only)?: /, "");
    throw new CliError(`Cannot open ${db}${mode === "read" ? " read-only" : ""}: ${message}`, 1);
  }
}

/** {@linkcode openQueue} on PostgreSQL: checks the schema unless it may be created, then opens. */
async function openPostgresQueue(
  db: string,
  schema: string | undefined,
  mode: OpenMode,
  logger: Logger | undefined,
): Promise<TaskQueue> {
  await checkPostgresQueue(db, schema, mode);
  const { TaskQueue } = await import("../queue.ts");
  try {
    return await TaskQueue.open({
      postgres: db,
      ...(schema === undefined ? {} : { schema }),
      ...(logger ? { logger } : {}),
    });
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const message = messageOf(error).replace(/^Cannot open the queue: /, "");
    throw new CliError(`Cannot open ${describeTarget(db, schema)}: ${message}`, 1);
  }
}

/**
 * Opens the queue, runs `body`, and closes the queue.
 *
 * @param target The file or URL, and the schema.
 * @param body What to do with it.
 * @param mode How to open it.
 * @returns What `body` returns.
 */
export async function withQueue<T>(
  target: string | QueueTarget,
  body: (queue: TaskQueue) => Promise<T>,
  mode: OpenMode = "write",
): Promise<T> {
  const queue = await openQueue(target, { mode });
  try {
    return await body(queue);
  } finally {
    await queue.close();
  }
}

/** Writes lines to stdout. */
export function println(io: CliIo, ...lines: string[]): void {
  io.stdout(lines.map((line) => `${line}\n`).join(""));
}

/** Writes a value as indented JSON to stdout. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** An error's message. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Text from the queue (task names, errors) made safe for one terminal line: line breaks and tabs
 * become spaces, other control characters (such as escape sequences) are shown as `\xNN`.
 *
 * @param text Any text.
 * @returns One printable line.
 */
export function oneLine(text: string): string {
  return text.replace(/\p{Cc}/gu, (char) => {
    if (char === "\n" || char === "\r" || char === "\t") return " ";
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/**
 * Lays rows out in columns separated by two spaces; the last cell of a row is not padded.
 *
 * @param rows Cells per row.
 * @param right Indexes of the columns to align right (numbers).
 * @returns The lines.
 */
export function table(
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows.map((row) =>
    row.map((cell, i) => {
      if (right.includes(i)) return cell.padStart(widths[i]!);
      return i === row.length - 1 ? cell : cell.padEnd(widths[i]!);
    }).join("  ").trimEnd()
  );
}
