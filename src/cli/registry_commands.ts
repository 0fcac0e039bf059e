/**
 * The CLI commands that answer "why isn't my task running?": `explain <id>` (every reason, from
 * `TaskQueue.explain`) and `workers` (the worker registry, from `TaskQueue.workers`). Both only
 * read, so they open the queue read-only.
 *
 * @module
 */

import { TaskNotFoundError } from "../errors.ts";
import { CliError, parseId } from "./args.ts";
import { type Command, oneLine, printJson, println, table, withQueue } from "./command.ts";

const json = { type: "boolean", description: "Print JSON" } as const;

/** `tasklite explain <id>`. */
export const explain: Command = {
  name: "explain",
  args: "<id>",
  summary: "Say why a task is not running",
  description: [
    "Prints every reason a task is not running now, one per line as `code: message`: not due,",
    "in backoff, paused, at a concurrency or rate limit, no live worker for its type; for a",
    "running task the worker holding it, for a finished one its status.",
  ].join("\n"),
  options: { json },
  positionals: { min: 1, max: 1 },
  run: ({ db, schema, io, values, positionals }) => {
    const id = parseId(positionals[0]!);
    return withQueue({ db, schema }, async (queue) => {
      let explanation;
      try {
        explanation = await queue.explain(id);
      } catch (error) {
        if (error instanceof TaskNotFoundError) throw new CliError(error.message, 1);
        throw error;
      }
      if (values.json) {
        printJson(io, explanation);
        return 0;
      }
      const { task, runnable, reasons } = explanation;
      const state = task.status === "pending"
        ? (runnable ? "pending, runnable now" : "pending, not runnable now")
        : task.status;
      println(
        io,
        `Task ${task.id} (${oneLine(task.taskType)}: ${oneLine(task.name)}): ${state}`,
        ...(reasons.length === 0
          ? ["- nothing holds it back: the next claim of a worker takes it"]
          : reasons.map((reason) => `- ${reason.code}: ${oneLine(reason.message)}`)),
      );
      return 0;
    }, "read");
  },
};

/** `tasklite workers`. */
export const workers: Command = {
  name: "workers",
  args: "",
  summary: "List the registered workers, live and recently dead",
  description: [
    "Prints one line per worker of the registry: id, alive or dead, runtime, host and pid,",
    "task types, concurrency and its last heartbeat. Dead workers (3 beats missed) are listed",
    "for an hour; their leases are recovered early.",
  ].join("\n"),
  options: { json },
  positionals: { min: 0, max: 0 },
  run: ({ db, schema, io, values }) =>
    withQueue({ db, schema }, async (queue) => {
      const list = await queue.workers();
      if (values.json) {
        printJson(io, list);
      } else if (list.length === 0) {
        io.stderr("No workers registered.\n");
      } else {
        println(
          io,
          ...table(list.map((w) => [
            oneLine(w.id),
            w.alive ? "alive" : "dead",
            oneLine(w.runtime || "?"),
            `${oneLine(w.host || "?")}:${w.pid ?? "?"}`,
            w.taskTypes === null ? "*" : oneLine(w.taskTypes.join(",")),
            `x${w.concurrency}`,
            `beat ${new Date(w.heartbeatAt).toISOString()}`,
          ])),
        );
      }
      return 0;
    }, "read"),
};
