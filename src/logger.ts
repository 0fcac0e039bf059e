/**
 * The pluggable logger. The library never writes to the console itself: it is quiet unless a
 * logger is given (but an `HttpWorker`, a process of its own, logs warnings and errors to the
 * console by default).
 *
 * @module
 */

/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/**
 * Where the queue and its workers report what they do. Any object with these four methods fits,
 * such as `console`, pino or `@std/log` loggers.
 */
export interface Logger {
  /** Routine detail: claims, completions. */
  debug(message: string, fields?: LogFields): void;
  /** Notable events: worker start and stop, schedules firing, pruning. */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong and was handled: a lost lease, a timeout. */
  warn(message: string, fields?: LogFields): void;
  /** Something went wrong and was not handled, such as a listener that threw. */
  error(message: string, fields?: LogFields): void;
}

/**
 * A logger that drops everything: the default.
 *
 * @example Usage
 * ```ts
 * import { silentLogger } from "@tasklite/tasklite";
 *
 * silentLogger.info("never shown");
 * ```
 */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * A logger that writes one JSON line per entry to the console, at `level` and above.
 *
 * @example Usage
 * ```ts
 * import { consoleLogger, TaskQueue } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:", { logger: consoleLogger("warn") });
 * await queue.close();
 * ```
 *
 * @param level The lowest level written.
 * @returns The logger.
 */
export function consoleLogger(level: keyof Logger = "info"): Logger {
  const levels = ["debug", "info", "warn", "error"] as const;
  const min = levels.indexOf(level);
  if (min < 0) throw new TypeError(`Invalid log level: ${level} (debug, info, warn or error)`);
  const write = (at: keyof Logger) => (message: string, fields?: LogFields) => {
    if (levels.indexOf(at) < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields });
    console[at](line);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
