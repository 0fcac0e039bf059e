/**
 * `tasklite serve`: the HTTP API and dashboard over a queue file, optionally with a worker running
 * handlers from a module; stops gracefully on SIGINT/SIGTERM.
 *
 * @module
 */

import { existsSync } from "node:fs";
import process from "node:process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { consoleLogger, type Logger, silentLogger } from "../logger.ts";
import { shutdownOnSignals } from "../signals.ts";
import { Worker, type WorkerOptions } from "../worker.ts";
import { serve as listen } from "../http/serve.ts";
import {
  CliError,
  listOption,
  parseDuration,
  parseInteger,
  stringOption,
  usageError,
} from "./args.ts";
import { type CliIo, type Command, messageOf, openQueue, println } from "./command.ts";
import { describeTarget } from "./_postgres.ts";

const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

/** `tasklite serve`. */
export const serveCommand: Command = {
  name: "serve",
  args: "",
  summary: "Serve the HTTP API and dashboard; with --handlers, run a worker too",
  description: [
    "Serves the queue's HTTP API, with the dashboard at /, until SIGINT or SIGTERM; then stops",
    "the worker gracefully, closes the server and the queue. Creates the queue file (or the",
    "PostgreSQL schema) if needed.",
    "",
    "With --handlers, imports the module (a path relative to the current directory) and runs a",
    "worker with its handlers:  export const handlers = { send_email: async (payload, ctx) => {} }",
    "",
    "Tokens (8 characters or more) can also come from the environment, comma-separated:",
    "TASKLITE_READ_TOKENS and TASKLITE_WRITE_TOKENS (they stay out of the process list).",
    "Without any token every route is open: keep the default --hostname 127.0.0.1, or put",
    "the server behind your own authentication.",
  ].join("\n"),
  options: {
    port: {
      type: "string",
      value: "<port>",
      description: "TCP port; 0 picks a free one (default: 8080)",
    },
    hostname: {
      type: "string",
      value: "<host>",
      description: "Interface to listen on (default: 127.0.0.1)",
    },
    "read-token": {
      type: "string",
      multiple: true,
      value: "<token>",
      description: "A bearer token that may read; repeatable",
    },
    "write-token": {
      type: "string",
      multiple: true,
      value: "<token>",
      description: "A bearer token that may read and write; repeatable",
    },
    "cors-origin": {
      type: "string",
      multiple: true,
      value: "<origin>",
      description: "Allow cross-origin calls from this origin; repeatable",
    },
    "no-dashboard": { type: "boolean", description: "Do not serve the dashboard at /" },
    handlers: {
      type: "string",
      value: "<module>",
      description: "Run a worker with this module's `handlers` export",
    },
    concurrency: {
      type: "string",
      value: "<n>",
      description: "Tasks the worker runs at once (default: 1)",
    },
    "shutdown-timeout": {
      type: "string",
      value: "<duration>",
      description: "How long running tasks get to finish on shutdown (default: 30s)",
    },
    "log-level": {
      type: "string",
      value: "<level>",
      description: "debug, info, warn, error or silent (default: info), as JSON lines",
    },
  },
  positionals: { min: 0, max: 0 },
  async run({ db, schema, io, values }) {
    const port = parseInteger(stringOption(values, "port") ?? "8080", "--port", 0, 65_535);
    const hostname = stringOption(values, "hostname") ?? "127.0.0.1";
    if (hostname.trim() === "") throw usageError("Invalid --hostname: empty");
    const handlersPath = stringOption(values, "handlers");
    const concurrencyText = stringOption(values, "concurrency");
    if (concurrencyText !== undefined && handlersPath === undefined) {
      throw usageError("--concurrency needs --handlers: without handlers no worker runs");
    }
    const concurrency = concurrencyText === undefined
      ? 1
      : parseInteger(concurrencyText, "--concurrency", 1, 1000);
    const timeoutMs = parseDuration(
      stringOption(values, "shutdown-timeout") ?? "30s",
      "--shutdown-timeout",
    );
    const logger = toLogger(stringOption(values, "log-level") ?? "info");
    const readTokens = [...listOption(values, "read-token"), ...envTokens("TASKLITE_READ_TOKENS")];
    const writeTokens = [
      ...listOption(values, "write-token"),
      ...envTokens("TASKLITE_WRITE_TOKENS"),
    ];
    const origins = listOption(values, "cors-origin");
    const dashboard = values["no-dashboard"] !== true;
    const handlers = handlersPath === undefined ? null : await loadHandlers(handlersPath);

    const { createQueueApp } = await import("../../hono.ts");
    const queue = await openQueue({ db, schema }, { mode: "create", logger });
    let server: Awaited<ReturnType<typeof listen>> | null = null;
    try {
      const app = createQueueApp(queue, {
        dashboard,
        ...(readTokens.length + writeTokens.length > 0
          ? { auth: { readTokens, writeTokens } }
          : {}),
        ...(origins.length > 0
          ? { cors: { origin: origins.length === 1 ? origins[0]! : origins } }
          : {}),
      });
      const worker = handlers === null ? null : new Worker(queue, { handlers, concurrency });
      try {
        server = await listen(app.fetch, { port, hostname });
      } catch (error) {
        const reason = (error as { code?: unknown }).code === "EADDRINUSE"
          ? "the address is in use"
          : messageOf(error);
        throw new CliError(`Cannot listen on ${hostname}:${port}: ${reason}`, 1);
      }
      const stopped = new Promise<void>((done) => {
        shutdownOnSignals(worker ? [worker] : [], { exit: false, timeoutMs, onShutdown: done });
      });
      const removeForce = forceOnSecondSignal(io, worker ? timeoutMs : null);
      println(
        io,
        `tasklite serving ${describeTarget(db, schema)} at ${server.url} ${
          dashboard ? "(dashboard at /)" : "(no dashboard)"
        }`,
      );
      if (readTokens.length + writeTokens.length === 0 && !isLoopback(hostname)) {
        io.stderr(
          `tasklite: warning: no tokens, so anyone who can reach ${server.url} can read and ` +
            "change the queue (set --write-token, or TASKLITE_WRITE_TOKENS)\n",
        );
      }
      if (worker) {
        worker.start();
        println(
          io,
          `worker ${worker.id} running ${Object.keys(handlers!).join(", ")} ` +
            `(concurrency ${concurrency})`,
        );
      }
      await stopped;
      removeForce();
      await server.close();
      server = null;
      println(io, "tasklite stopped");
      return 0;
    } finally {
      await server?.close({ timeoutMs: 0 });
      await queue.close();
    }
  },
};

/**
 * The first SIGINT/SIGTERM starts the graceful stop (through `shutdownOnSignals`); say so, and
 * make a second one exit at once, as a shell user expects from a second Ctrl-C.
 */
function forceOnSecondSignal(io: CliIo, timeoutMs: number | null): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  let received = 0;
  const onSignal = (signal: string) => {
    received++;
    if (received === 1) {
      println(
        io,
        timeoutMs === null
          ? "tasklite stopping"
          : `tasklite stopping: waiting up to ${timeoutMs} ms for running tasks ` +
            "(send the signal again to exit now)",
      );
      return;
    }
    io.stderr("tasklite: exiting without waiting for running tasks\n");
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

function toLogger(level: string): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw usageError(`Invalid --log-level: expected ${LOG_LEVELS.join(", ")}, got "${level}"`);
  }
  return level === "silent" ? silentLogger : consoleLogger(level as keyof Logger);
}

function envTokens(name: string): string[] {
  return (process.env[name] ?? "").split(",").map((t) => t.trim()).filter((t) => t !== "");
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}

/** Imports the `--handlers` module and returns its `handlers` export. */
async function loadHandlers(path: string): Promise<WorkerOptions["handlers"]> {
  const file = resolve(process.cwd(), path);
  if (!existsSync(file)) throw usageError(`Invalid --handlers: no file ${file}`);
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new CliError(`Cannot load --handlers ${path}: ${messageOf(error)}`, 1);
  }
  const handlers = module.handlers;
  if (typeof handlers !== "object" || handlers === null || Array.isArray(handlers)) {
    throw usageError(
      `Invalid --handlers: ${path} must export handlers, as in ` +
        "export const handlers = { send_email: async (payload, ctx) => ({ sent: true }) }",
    );
  }
  return handlers as WorkerOptions["handlers"];
}
