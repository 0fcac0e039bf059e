/**
 * The CLI commands that read or change the queue: `stats`, `list`, `show`, `enqueue`, `retry`,
 * `cancel`, `retry-failed`, `prune` and `schedules`. Each is a thin layer over one or two calls
 * of {@linkcode TaskQueue}.
 *
 * @module
 */

import { type Task, TASK_STATUSES, TaskStatus } from "../task.ts";
import { priorityName } from "../task.ts";
import type { EnqueueOptions, TaskQueue } from "../queue.ts";
import {
  CliError,
  listOption,
  parseDuration,
  parseId,
  parseInteger,
  parseJson,
  parsePriority,
  stringOption,
  usageError,
} from "./args.ts";
import { type Command, oneLine, printJson, println, table, withQueue } from "./command.ts";

const json = { type: "boolean", description: "Print JSON" } as const;

/** `tasklite stats`. */
export const stats: Command = {
  name: "stats",
  args: "",
  summary: "Count tasks per status",
  description: "Prints how many tasks the queue holds in each status.",
  options: { json },
  positionals: { min: 0, max: 0 },
  run: ({ db, schema, io, values }) =>
    withQueue({ db, schema }, async (queue) => {
      const counts = await queue.getQueueStats();
      if (values.json) {
        printJson(io, counts);
      } else {
        println(io, ...table(TASK_STATUSES.map((s) => [s, String(counts[s])]), [1]));
      }
      return 0;
    }, "read"),
};

/** `tasklite list <status>`. */
export const list: Command = {
  name: "list",
  args: "<status>",
  summary: "List the tasks with a status (pending: next to run first; others: newest first)",
  description: [
    `Prints one line per task: id, status, priority, type, name, and the last error if any.`,
    `<status> is one of ${TASK_STATUSES.join(", ")}.`,
  ].join("\n"),
  options: {
    limit: { type: "string", value: "<n>", description: "At most this many (default: 20)" },
    offset: {
      type: "string",
      value: "<n>",
      description: "Skip this many, for paging (default: 0)",
    },
    json: { type: "boolean", description: "Print the tasks as JSON" },
  },
  positionals: { min: 1, max: 1 },
  run: ({ db, schema, io, values, positionals }) => {
    const status = positionals[0]!;
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      throw usageError(
        `Invalid status "${status}": expected one of ${TASK_STATUSES.join(", ")}`,
      );
    }
    const limit = parseInteger(stringOption(values, "limit") ?? "20", "--limit", 1, 10_000);
    const offset = parseInteger(stringOption(values, "offset") ?? "0", "--offset", 0);
    return withQueue({ db, schema }, async (queue) => {
      const tasks = await queue.getTasksByStatus(status as TaskStatus, limit, offset);
      if (values.json) {
        printJson(io, tasks);
      } else if (tasks.length === 0) {
        io.stderr(`No ${status} tasks${offset > 0 ? ` after the first ${offset}` : ""}.\n`);
      } else {
        println(io, ...table(tasks.map(taskRow), [0]));
      }
      return 0;
    }, "read");
  },
};

/** The cells of a task's line in `list`. */
function taskRow(task: Task): string[] {
  const status = task.status === TaskStatus.RUNNING && task.cancelRequestedAt !== null
    ? "running (cancel requested)"
    : task.status;
  const row = [
    String(task.id),
    status,
    priorityName(task.priority),
    oneLine(task.taskType),
    oneLine(task.name),
  ];
  if (task.error !== null) row.push(`error: ${oneLine(task.error)}`);
  return row;
}

/** `tasklite show <id>`. */
export const show: Command = {
  name: "show",
  args: "<id>",
  summary: "Print one task as JSON",
  description: "Prints every field of a task, its payload, result and error history included.",
  options: {},
  positionals: { min: 1, max: 1 },
  run: ({ db, schema, io, positionals }) => {
    const id = parseId(positionals[0]!);
    return withQueue({ db, schema }, async (queue) => {
      const task = await queue.getTask(id);
      if (!task) throw new CliError(`Cannot show task ${id}: no such task`, 1);
      printJson(io, task);
      return 0;
    }, "read");
  },
};

/** `tasklite enqueue <taskType>`. */
export const enqueue: Command = {
  name: "enqueue",
  args: "<taskType>",
  summary: "Add a task; prints its id",
  description: [
    "Adds a task of type <taskType> and prints its id. With --unique-key, while a task with",
    "that key is pending or running, prints that task's id instead of adding another.",
    "Creates the queue file if it does not exist.",
  ].join("\n"),
  options: {
    name: { type: "string", value: "<name>", description: "Its name (default: the task type)" },
    payload: {
      type: "string",
      value: "<json>",
      description: "Its payload, as JSON (default: {})",
    },
    priority: {
      type: "string",
      value: "<priority>",
      description: "low, normal, high, critical, or 1-4 (default: normal)",
    },
    "delay-ms": {
      type: "string",
      value: "<ms>",
      description: "Due this many milliseconds from now (default: 0)",
    },
    "max-retries": {
      type: "string",
      value: "<n>",
      description: "Retries after the first failure (default: 3)",
    },
    "unique-key": {
      type: "string",
      value: "<key>",
      description: "Idempotency key: no duplicate while one is live",
    },
    "concurrency-key": {
      type: "string",
      value: "<key>",
      description: "Concurrency key (a tenant, an account): its type's per-key limits count it",
    },
  },
  positionals: { min: 1, max: 1 },
  run: ({ db, schema, io, values, positionals }) => {
    const taskType = positionals[0]!;
    const options: EnqueueOptions = { taskType, name: stringOption(values, "name") ?? taskType };
    const payload = stringOption(values, "payload");
    if (payload !== undefined) options.payload = parseJson(payload, "--payload");
    const priority = stringOption(values, "priority");
    if (priority !== undefined) options.priority = parsePriority(priority);
    const delay = stringOption(values, "delay-ms");
    const delayMs = delay === undefined ? 0 : parseInteger(delay, "--delay-ms", 0);
    const retries = stringOption(values, "max-retries");
    if (retries !== undefined) options.maxRetries = parseInteger(retries, "--max-retries", 0);
    const uniqueKey = stringOption(values, "unique-key");
    if (uniqueKey !== undefined) options.uniqueKey = uniqueKey;
    const concurrencyKey = stringOption(values, "concurrency-key");
    if (concurrencyKey !== undefined) options.concurrencyKey = concurrencyKey;
    return withQueue({ db, schema }, async (queue) => {
      if (delayMs > 0) options.scheduledAt = queue.now() + delayMs;
      println(io, String(await queue.enqueue(options)));
      return 0;
    }, "create");
  },
};

/** The status a task ended up in, as `retry` and `cancel` print it. */
function statusLine(task: Task): string {
  return task.status === TaskStatus.RUNNING && task.cancelRequestedAt !== null
    ? "running (cancel requested: its worker stops it)"
    : task.status;
}

/** `tasklite retry <id>`. */
export const retry: Command = {
  name: "retry",
  args: "<id>",
  summary: "Redrive a failed or cancelled task",
  description: "Puts a failed or cancelled task back to pending, due now, its retries reset.\n" +
    "Prints its new status.",
  options: {},
  positionals: { min: 1, max: 1 },
  run: ({ db, schema, io, positionals }) => {
    const id = parseId(positionals[0]!);
    return withQueue({ db, schema }, async (queue) => {
      println(io, statusLine(await queue.retryTask(id)));
      return 0;
    });
  },
};

/** `tasklite cancel <id>`. */
export const cancel: Command = {
  name: "cancel",
  args: "<id>",
  summary: "Cancel a pending task, or stop a running one",
  description:
    "Cancels a pending task. A running task is marked: the worker running it aborts it\n" +
    "within one poll interval. Prints the task's status.",
  options: {},
  positionals: { min: 1, max: 1 },
  run: ({ db, schema, io, positionals }) => {
    const id = parseId(positionals[0]!);
    return withQueue({ db, schema }, async (queue) => {
      println(io, statusLine(await queue.cancelTask(id)));
      return 0;
    });
  },
};

/** How many failed tasks `retry-failed` redrives per call (each call is one transaction). */
const REDRIVE_BATCH = 1000;

/** `tasklite retry-failed`. */
export const retryFailed: Command = {
  name: "retry-failed",
  args: "",
  summary: "Redrive failed tasks in bulk; prints how many",
  description: [
    "Puts failed tasks (dead letters) back to pending, oldest first, in batches of 1000,",
    "and prints how many were redriven and how many failed tasks remain (of --task-type",
    "if given): `40000 redriven, 0 remaining`. A task whose unique key is live again stays",
    "failed. On a terminal, a progress line shows while it runs.",
  ].join("\n"),
  options: {
    "task-type": { type: "string", value: "<type>", description: "Only tasks of this type" },
    limit: { type: "string", value: "<n>", description: "At most this many (default: all)" },
    json: { type: "boolean", description: 'Print {"redriven": n, "remaining": n}' },
  },
  positionals: { min: 0, max: 0 },
  run: ({ db, schema, io, values }) => {
    const taskType = stringOption(values, "task-type");
    const rawLimit = stringOption(values, "limit");
    const limit = rawLimit === undefined ? Infinity : parseInteger(rawLimit, "--limit", 1);
    return withQueue({ db, schema }, async (queue) => {
      // Bounded by the failed tasks there were at the start: tasks failing meanwhile wait.
      const target = Math.min(limit, (await queue.getQueueStats()).failed);
      let redriven = 0;
      while (redriven < target) {
        const batch = Math.min(REDRIVE_BATCH, target - redriven);
        const done = (await queue.retryFailed({ taskType, limit: batch })).length;
        redriven += done;
        if (done === 0) break; // none left, or only tasks whose unique key is live again
        if (io.isTerminal) io.stdout(`\r${redriven} redriven…`);
      }
      if (io.isTerminal && redriven > 0) io.stdout("\r\x1b[K");
      const remaining = await failedCount(queue, taskType);
      if (values.json) printJson(io, { redriven, remaining });
      else println(io, `${redriven} redriven, ${remaining} remaining`);
      return 0;
    });
  },
};

/** How many failed tasks there are, of one task type or all. */
async function failedCount(queue: TaskQueue, taskType: string | undefined): Promise<number> {
  if (taskType === undefined) return (await queue.getQueueStats()).failed;
  // No count per type: page through the failed tasks whose name or type contains it.
  let count = 0;
  for (let offset = 0;; offset += 1000) {
    const page = await queue.getTasksByStatus(TaskStatus.FAILED, 1000, offset, {
      search: taskType,
    });
    count += page.filter((task) => task.taskType === taskType).length;
    if (page.length < 1000) return count;
  }
}

const PRUNABLE = [TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED] as const;
type Prunable = typeof PRUNABLE[number];
const PRUNE_BATCH = 10_000;

/** `tasklite prune`. */
export const prune: Command = {
  name: "prune",
  args: "",
  summary: "Delete finished tasks older than a duration; prints how many",
  description: [
    "Deletes tasks that finished at least --older-than ago and prints how many.",
    "Durations: 7d, 12h, 30m, 45s, 500ms, or a number of milliseconds.",
  ].join("\n"),
  options: {
    "older-than": {
      type: "string",
      value: "<duration>",
      description: "Only tasks finished at least this long ago (required)",
    },
    status: {
      type: "string",
      multiple: true,
      value: "<status>",
      description: "completed, failed or cancelled; repeatable (default: completed, cancelled)",
    },
  },
  positionals: { min: 0, max: 0 },
  run: ({ db, schema, io, values }) => {
    const olderThan = stringOption(values, "older-than");
    if (olderThan === undefined) throw usageError("Missing --older-than <duration>");
    const olderThanMs = parseDuration(olderThan, "--older-than");
    const statuses = listOption(values, "status").map((status) => {
      if (!(PRUNABLE as readonly string[]).includes(status)) {
        throw usageError(
          `Invalid --status: expected ${PRUNABLE.join(", ")}, got "${status}"`,
        );
      }
      return status as Prunable;
    });
    return withQueue({ db, schema }, async (queue) => {
      let total = 0;
      for (;;) {
        const deleted = await queue.prune({
          olderThanMs,
          limit: PRUNE_BATCH,
          ...(statuses.length > 0 ? { statuses } : {}),
        });
        total += deleted;
        if (deleted < PRUNE_BATCH) break;
      }
      println(io, String(total));
      return 0;
    });
  },
};

/** `tasklite schedules`. */
export const schedules: Command = {
  name: "schedules",
  args: "",
  summary: "List the recurring schedules",
  description:
    "Prints one line per schedule: name, cron pattern, time zone, task type, next run, and\n" +
    "whether it is paused.",
  options: { json },
  positionals: { min: 0, max: 0 },
  run: ({ db, schema, io, values }) =>
    withQueue({ db, schema }, async (queue: TaskQueue) => {
      const all = await queue.getSchedules();
      if (values.json) {
        printJson(io, all);
      } else if (all.length === 0) {
        io.stderr("No schedules.\n");
      } else {
        println(
          io,
          ...table(all.map((schedule) => [
            oneLine(schedule.name),
            oneLine(schedule.cron),
            oneLine(schedule.timezone ?? "UTC"),
            oneLine(schedule.taskType),
            schedule.nextRunAt === null
              ? "next: never"
              : `next: ${new Date(schedule.nextRunAt).toISOString()}`,
            schedule.paused ? "paused" : "",
          ])),
        );
      }
      return 0;
    }, "read"),
};
