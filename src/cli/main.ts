/**
 * The `tasklite` command line: `main(args)` parses the arguments, runs one command and returns the
 * exit code; `cli.ts` calls it with the process's arguments.
 *
 * @module
 */

import process from "node:process";
import { TaskNotFoundError, TaskStateError, ValidationError } from "../errors.ts";
import { CliError, commandIndex, type OptionSpecs, parseCommandArgs, usageError } from "./args.ts";
import { type CliIo, type Command, messageOf } from "./command.ts";
import {
  cancel,
  enqueue,
  list,
  prune,
  retry,
  retryFailed,
  schedules,
  show,
  stats,
} from "./commands.ts";
import { serveCommand } from "./serve_command.ts";
import { explain, workers } from "./registry_commands.ts";
import { isPostgresUrl } from "./_postgres.ts";

export type { CliIo } from "./command.ts";

/** Every command, in the order `tasklite --help` lists them. */
const COMMANDS: readonly Command[] = [
  serveCommand,
  stats,
  list,
  show,
  explain,
  workers,
  enqueue,
  retry,
  cancel,
  retryFailed,
  prune,
  schedules,
];

/** The options every command takes. */
const GLOBAL_OPTIONS: OptionSpecs = {
  db: {
    type: "string",
    value: "<file|url>",
    description: "The queue's SQLite file (default: tasks.db), or a postgres:// URL",
  },
  schema: {
    type: "string",
    value: "<name>",
    description: "With a postgres:// --db, the schema the queue is in (default: tasklite)",
  },
  help: { type: "boolean", short: "h", description: "Show help" },
  version: { type: "boolean", description: "Print the version" },
};

const DEFAULT_DB = "tasks.db";

/** Writes to the process's stdout and stderr. */
const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  get isTerminal() {
    return process.stdout.isTTY === true;
  },
};

/**
 * The package's version, from its one source: `deno.json` (JSR publishes it; the npm build
 * compiles it into `dist/` beside the code, and `package.json` is checked to say the same).
 */
async function version(): Promise<string> {
  const { default: config } = await import("../../deno.json", { with: { type: "json" } });
  return config.version;
}

/**
 * Runs the `tasklite` command line: parses `args`, runs one command, and returns the exit code: 0
 * on success, 1 when the command failed (such as a task that does not exist), 2 for a usage error
 * (an unknown command or option, a bad value). Expected errors are printed as one line on stderr
 * (`tasklite: …`), usage errors with a pointer to the help; nothing is thrown.
 *
 * @example Run a command and capture its output
 * ```ts ignore
 * import { main } from "@tasklite/tasklite/cli";
 *
 * let out = "";
 * const code = await main(["enqueue", "send_email", "--db", "tasks.db"], {
 *   stdout: (text) => (out += text),
 *   stderr: (text) => console.error(text),
 * });
 * console.log(code, out); // 0 "1\n"
 * ```
 *
 * @param args The arguments after the program name, such as `["list", "failed", "--json"]`.
 * @param io Where to write (default: the process's stdout and stderr).
 * @returns The exit code.
 */
export async function main(args: readonly string[], io: CliIo = processIo): Promise<number> {
  let command: Command | null = null;
  try {
    const at = commandIndex(args, GLOBAL_OPTIONS);
    if (at === -1) {
      const { values } = parseCommandArgs(args, GLOBAL_OPTIONS);
      if (values.version) {
        io.stdout(`${await version()}\n`);
        return 0;
      }
      if (values.help) {
        io.stdout(rootHelp());
        return 0;
      }
      io.stderr(rootHelp());
      return 2;
    }
    const name = args[at]!;
    const rest = [...args.slice(0, at), ...args.slice(at + 1)];
    if (name === "help") return help(rest, io);
    command = COMMANDS.find((c) => c.name === name) ?? null;
    if (!command) throw usageError(`Unknown command '${name}'${suggestion(name)}`);
    const specs = { ...command.options, ...GLOBAL_OPTIONS };
    const parsed = parseCommandArgs(rest, specs);
    if (parsed.values.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    if (parsed.values.version) {
      io.stdout(`${await version()}\n`);
      return 0;
    }
    const { min, max } = command.positionals;
    const count = parsed.positionals.length;
    if (count < min) throw usageError(`Missing ${command.args.split(" ")[count]}`);
    if (count > max) {
      throw usageError(`Unexpected argument '${parsed.positionals[max]}'`);
    }
    const db = typeof parsed.values.db === "string" ? parsed.values.db : DEFAULT_DB;
    if (db === "") throw usageError("Invalid --db: empty");
    const schema = typeof parsed.values.schema === "string" ? parsed.values.schema : undefined;
    if (schema !== undefined && !isPostgresUrl(db)) {
      throw usageError("--schema needs a postgres:// --db: a SQLite file has no schemas");
    }
    if (schema?.trim() === "") throw usageError("Invalid --schema: empty");
    return await command.run({ ...parsed, db, ...(schema === undefined ? {} : { schema }), io });
  } catch (error) {
    return report(error, command, io);
  }
}

/** Prints an error as one line and returns its exit code. */
function report(error: unknown, command: Command | null, io: CliIo): number {
  const usage = (error instanceof CliError && error.exitCode === 2) ||
    error instanceof ValidationError;
  if (usage) {
    const hint = command ? `tasklite ${command.name} --help` : "tasklite --help";
    io.stderr(`tasklite: ${messageOf(error)}\nRun '${hint}' for usage.\n`);
    return 2;
  }
  if (
    error instanceof CliError || error instanceof TaskNotFoundError ||
    error instanceof TaskStateError
  ) {
    io.stderr(`tasklite: ${error.message}\n`);
    return 1;
  }
  // Not expected: keep the stack when asked for it.
  const detail = process.env.TASKLITE_DEBUG && error instanceof Error && error.stack
    ? error.stack
    : messageOf(error);
  io.stderr(`tasklite: ${detail}\n`);
  return 1;
}

/** `tasklite help [command]`. */
function help(args: readonly string[], io: CliIo): number {
  const { positionals } = parseCommandArgs(args, GLOBAL_OPTIONS);
  if (positionals.length === 0) {
    io.stdout(rootHelp());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === positionals[0]);
  if (!command) {
    throw usageError(`Unknown command '${positionals[0]}'${suggestion(positionals[0]!)}`);
  }
  io.stdout(commandHelp(command));
  return 0;
}

/** ` (did you mean 'stats'?)` for a near miss, or nothing. */
function suggestion(name: string): string {
  const near = COMMANDS.find((c) => distance(c.name, name) <= 2 || c.name.startsWith(name));
  return near && name.length > 1 ? ` (did you mean '${near.name}'?)` : "";
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length]!;
}

function optionLines(specs: OptionSpecs): string[] {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ""}--${name}${
      spec.value ? ` ${spec.value}` : ""
    }`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

function rootHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "tasklite: a durable task queue in one SQLite file (or a PostgreSQL schema)",
    "",
    "Usage: tasklite <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Global options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Run 'tasklite <command> --help' for a command's options.",
    "",
  ].join("\n");
}

function commandHelp(command: Command): string {
  const usage = `tasklite ${command.name}${command.args ? ` ${command.args}` : ""} [options]`;
  const own = Object.keys(command.options).length > 0
    ? ["Options:", ...optionLines(command.options), ""]
    : [];
  return [
    `Usage: ${usage}`,
    "",
    command.description,
    "",
    ...own,
    "Global options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
  ].join("\n");
}
