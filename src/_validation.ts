/**
 * valibot schemas for every public input. A failed check throws a `ValidationError` (a
 * `TypeError`) naming the field and the rule, with the valibot issues (also as `cause`, a
 * `ValiError`); nothing has been written at that point.
 *
 * @module
 */

import { TASK_DUE, TASK_SORT_KEYS } from "./task_query.ts";
import * as v from "valibot";
import { isTimeZone } from "./cron.ts";
import { INTEGRITY_CHECKS } from "./drivers/driver.ts";
import { ValidationError } from "./errors.ts";
import { MAX_ERROR_LENGTH } from "./_failure.ts";
import { json, jsonProblem } from "./_json_data.ts";
import { LIMITS } from "./_limits.ts";
import { TASK_STATUSES, TaskPriority, TaskStatus } from "./task.ts";

/** The latest epoch ms a `Date` can hold. */
const MAX_TIME = 8.64e15;

/**
 * Whether SQLite stores `s` exactly: well-formed UTF-16 (a binding turns a lone surrogate into
 * U+FFFD, so two distinct keys could collide) and no NUL (node:sqlite cuts text at one).
 */
export function isStorable(s: string): boolean {
  return s.isWellFormed() && !s.includes("\0");
}

/** The checks of text stored in a TEXT column: refused, never altered. */
const storable = [
  v.check((s: string) => s.isWellFormed(), "must be well-formed Unicode (not a lone surrogate)"),
  v.check((s: string) => !s.includes("\0"), "must not contain a NUL character"),
] as const;

/** Non-blank text of at most `max` characters, stored exactly (see {@linkcode isStorable}). */
export const text = (max: number) =>
  v.pipe(
    v.string("must be a string"),
    v.check((s) => s.trim().length > 0, "must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
    ...storable,
  );

/**
 * A failure message: non-blank, at most `max` characters, any text (a failure is always recorded:
 * `failureMessage` escapes what SQLite cannot store instead of refusing it).
 */
export const message = (max: number) =>
  v.pipe(
    v.string("must be a string"),
    v.check((s) => s.trim().length > 0, "must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/** A number from `min` to `max`. */
export const between = (min: number, max: number) =>
  v.pipe(
    v.number("must be a number"),
    v.minValue(min, `must be >= ${min}`),
    v.maxValue(max, `must be <= ${max}`),
  );

/** An integer from `min` to `max`. */
export const integer = (min: number, max: number) =>
  v.pipe(between(min, max), v.integer("must be an integer"));

export const priority = v.picklist(
  Object.values(TaskPriority),
  "must be a TaskPriority: 1 (LOW), 2 (NORMAL), 3 (HIGH) or 4 (CRITICAL)",
);

export const time = v.union([
  v.pipe(
    v.date("must be a valid Date"),
    v.check((d) => Math.abs(d.getTime()) <= MAX_TIME, "must be a valid Date"),
  ),
  integer(0, MAX_TIME),
], "must be a Date or epoch milliseconds (an integer >= 0)");

/** A stored retry policy. */
export const RetryPolicySchema = v.variant(
  "type",
  [
    v.strictObject({ type: v.literal("fixed"), delayMs: integer(0, MAX_TIME) }),
    v.strictObject({
      type: v.literal("exponential"),
      baseMs: v.optional(integer(0, MAX_TIME)),
      factor: v.optional(between(1, 100)),
      maxMs: v.optional(integer(0, MAX_TIME)),
      jitter: v.optional(between(0, 1)),
    }),
  ],
  'must be { type: "fixed", delayMs } or { type: "exponential", baseMs?, factor?, maxMs?, jitter? }',
);

export const duration = integer(1, 2 ** 31 - 1);

/** Options of one task at enqueue. */
export const EnqueueSchema = v.strictObject({
  name: text(LIMITS.name),
  taskType: text(LIMITS.taskType),
  payload: v.optional(json, () => ({})),
  priority: v.optional(priority, TaskPriority.NORMAL),
  scheduledAt: v.optional(time),
  maxRetries: v.optional(integer(0, 1000), 3),
  uniqueKey: v.optional(text(LIMITS.uniqueKey)),
  concurrencyKey: v.optional(text(LIMITS.concurrencyKey)),
  timeoutMs: v.optional(duration),
  retry: v.optional(RetryPolicySchema),
});

type Enqueued = v.InferOutput<typeof EnqueueSchema>;

/** The fields {@linkcode enqueueFast} checks itself; any other sends a task to valibot. */
const PLAIN_FIELDS = new Set(["name", "taskType", "payload", "priority", "maxRetries"]);

/**
 * The common task (a name, a type, a JSON payload, maybe a priority and a retry count) checked
 * without valibot, with {@linkcode EnqueueSchema}'s rules and defaults; `undefined` for anything
 * else, valid or not, which valibot then decides. A test checks that the two agree.
 */
function enqueueFast(input: unknown): Enqueued | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  if (Object.getPrototypeOf(input) !== Object.prototype) return undefined;
  const task = input as Record<string, unknown>;
  for (const key in task) if (!PLAIN_FIELDS.has(key)) return undefined;
  const { name, taskType, payload, priority = TaskPriority.NORMAL, maxRetries = 3 } = task;
  if (!isText(name, LIMITS.name) || !isText(taskType, LIMITS.taskType)) return undefined;
  if (priority !== 1 && priority !== 2 && priority !== 3 && priority !== 4) return undefined;
  if (
    !Number.isInteger(maxRetries) || (maxRetries as number) < 0 || (maxRetries as number) > 1000
  ) {
    return undefined;
  }
  if (payload !== undefined && jsonProblem(payload) !== null) return undefined;
  return {
    name,
    taskType,
    payload: payload === undefined ? {} : payload,
    priority,
    maxRetries: maxRetries as number,
  };
}

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length <= max && value.trim().length > 0 &&
    isStorable(value);
}

/** One task's enqueue options, parsed as {@linkcode EnqueueSchema} does (faster when plain). */
export function parseEnqueue(input: unknown, what: string): Enqueued {
  return enqueueFast(input) ?? parse(EnqueueSchema, input, what);
}

/** A batch's enqueue options, parsed as {@linkcode EnqueueManySchema} does (faster when plain). */
export function parseEnqueueMany(input: unknown, what: string): Enqueued[] {
  if (Array.isArray(input) && input.length <= LIMITS.enqueueMany) {
    const parsed: Enqueued[] = [];
    for (const item of input) {
      const fast = enqueueFast(item);
      if (!fast) return parse(EnqueueManySchema, input, what); // its errors name the item
      parsed.push(fast);
    }
    return parsed;
  }
  return parse(EnqueueManySchema, input, what);
}

/** A batch at enqueue. */
export const EnqueueManySchema = v.pipe(
  v.array(EnqueueSchema, "must be an array of task options"),
  v.maxLength(LIMITS.enqueueMany, `must hold at most ${LIMITS.enqueueMany} tasks per call`),
);

/** Claim options. */
export const DequeueSchema = v.strictObject({
  taskTypes: v.optional(
    v.pipe(
      v.array(text(200), "must be an array of task types"),
      v.minLength(1, "must not be empty"),
    ),
  ),
  leaseMs: v.optional(duration),
  workerId: v.optional(text(200)),
});

/** A task id. */
export const IdSchema = integer(1, Number.MAX_SAFE_INTEGER);

/** A task reference: an id, or a task object (fenced by its lease). */
export const TaskRefSchema = v.union([
  IdSchema,
  v.looseObject({ id: IdSchema, attempts: integer(0, Number.MAX_SAFE_INTEGER) }),
], "must be a task id or a Task");

/** A handler's result. */
export const ResultSchema = v.optional(json, null);

/** A failure reason. */
export const FailureSchema = v.union(
  [message(MAX_ERROR_LENGTH), v.instance(Error)],
  "must be an error message or an Error",
);

/** Options of a failure. */
export const FailOptionsSchema = v.strictObject({
  retry: v.optional(v.boolean("must be a boolean")),
  retryDelayMs: v.optional(integer(0, MAX_TIME)),
});

/** A status. */
export const StatusSchema = v.picklist(
  TASK_STATUSES,
  `must be one of ${TASK_STATUSES.join(", ")}`,
);

/** A task type, or `"*"` for every type. */
export const TaskTypeSchema = text(200);

/** Per-type limits. */
export const LimitsSchema = v.strictObject({
  concurrency: v.optional(v.nullable(integer(1, 1_000_000))),
  rate: v.optional(v.nullable(v.strictObject({
    max: integer(1, 1_000_000),
    intervalMs: duration,
  }))),
  concurrencyPerKey: v.optional(v.nullable(integer(1, 1_000_000))),
  ratePerKey: v.optional(v.nullable(v.strictObject({
    max: integer(1, 1_000_000),
    intervalMs: duration,
  }))),
});

/** A redrive in bulk. */
export const RetryFailedSchema = v.strictObject({
  taskType: v.optional(text(200)),
  limit: v.optional(integer(1, 1_000_000)),
});

const FINISHED = [TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED] as const;
const finishedStatuses = v.optional(v.pipe(
  v.array(v.picklist(FINISHED, "must be completed, failed or cancelled"), "must be an array"),
  v.minLength(1, "must not be empty"),
));

/** Retention. */
export const PruneSchema = v.strictObject({
  olderThanMs: integer(0, MAX_TIME),
  statuses: finishedStatuses,
  limit: v.optional(integer(1, 10_000_000)),
});

/** The automatic retention policy. */
export const RetentionSchema = v.strictObject({
  olderThanMs: integer(0, MAX_TIME),
  statuses: finishedStatuses,
  intervalMs: v.optional(duration),
  historyMs: v.optional(integer(3_600_000, MAX_TIME)),
});

const WEEK_MS = 7 * 86_400_000;

/** `history()` options: a window of at most 7 days, whole-minute steps. */
export const HistoryOptionsSchema = v.pipe(
  v.strictObject({
    windowMs: v.optional(integer(60_000, WEEK_MS)),
    stepMs: v.optional(v.pipe(
      integer(60_000, WEEK_MS),
      v.check((ms) => ms % 60_000 === 0, "must be a whole number of minutes"),
    )),
  }),
  v.check(
    (o) => (o.stepMs ?? 60_000) <= (o.windowMs ?? 3_600_000),
    "stepMs must not exceed windowMs",
  ),
);

const positive = v.pipe(
  v.number("must be a positive integer"),
  v.integer("must be a positive integer"),
  v.minValue(1, "must be a positive integer"),
  v.maxValue(2 ** 31 - 1, `must be <= ${2 ** 31 - 1}`),
);
const finite = v.custom<number>(
  (x) => typeof x === "number" && Number.isFinite(x) && x >= 0,
  "must be a finite number >= 0",
);
const fn = (what: string) => v.custom<unknown>((x) => typeof x === "function", `must be ${what}`);
/** Backoff options: an object first (anything else is refused as the option), then its fields. */
const backoff = v.pipe(
  v.custom<Record<string, unknown>>(
    (x) => typeof x === "object" && x !== null,
    "must be backoff options ({ baseMs?, factor?, maxMs?, jitter?, random? }) or a function",
  ),
  v.strictObject({
    baseMs: v.optional(finite),
    factor: v.optional(finite),
    maxMs: v.optional(finite),
    jitter: v.optional(v.custom<number>(
      (j) => typeof j === "number" && j >= 0 && j <= 1,
      "must be a number between 0 and 1",
    )),
    random: v.optional(fn("a function")),
  }),
);

/** `TaskQueue.open()` options, all checked before the storage is touched. */
export const OpenOptionsSchema = v.strictObject({
  path: v.optional(
    v.pipe(v.string("must be a non-empty string"), v.nonEmpty("must be a non-empty string")),
  ),
  database: v.optional(v.custom<unknown>(
    (x) => typeof x === "object" && x !== null,
    "must be a node:sqlite DatabaseSync, a bun:sqlite Database, a Durable Object's storage or a SqliteDriver",
  )),
  driver: v.optional(
    v.picklist(["node:sqlite", "bun:sqlite"], 'must be "node:sqlite" or "bun:sqlite"'),
  ),
  synchronous: v.optional(
    v.picklist(["OFF", "NORMAL", "FULL", "EXTRA"], "must be OFF, NORMAL, FULL or EXTRA"),
  ),
  busyTimeoutMs: v.optional(positive),
  integrityCheck: v.optional(
    v.picklist(INTEGRITY_CHECKS, `must be ${INTEGRITY_CHECKS.map((c) => `"${c}"`).join(", ")}`),
  ),
  readOnly: v.optional(v.boolean("must be a boolean")),
  postgres: v.optional(v.custom<unknown>(
    (x) =>
      (typeof x === "string" && /^postgres(ql)?:\/\//i.test(x)) ||
      (typeof x === "function" && typeof (x as { begin?: unknown }).begin === "function"),
    "must be a postgres:// URL or a postgres.js client",
  )),
  schema: v.optional(v.pipe(
    v.string("must be a schema name"),
    v.regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a schema name (a-z, 0-9, _; at most 63)"),
  )),
  leaseMs: v.optional(positive),
  // The curve is checked here as `exponentialBackoff` checks it, so that a bad one is refused
  // before the file is touched.
  backoff: v.optional(v.lazy((x) => typeof x === "function" ? fn("a function") : backoff)),
  clock: v.optional(
    v.union([
      fn("a function"),
      v.looseObject({ now: fn("a function"), sleep: fn("a function") }),
    ], "must be a Clock ({ now, sleep }) or a function returning epoch milliseconds"),
  ),
  clockToleranceMs: v.optional(positive),
  notifier: v.optional(
    v.looseObject(
      { notify: fn("a function"), listen: fn("a function") },
      "must be a Notifier with notify and listen methods",
    ),
  ),
  logger: v.optional(v.looseObject({
    debug: fn("a function"),
    info: fn("a function"),
    warn: fn("a function"),
    error: fn("a function"),
  }, "must have debug, info, warn and error methods")),
  retention: v.optional(RetentionSchema),
});

/** Where an enqueue writes: a caller's transaction (postgres.js `sql.begin`; SQLite `true` or drizzle). */
export const TransactionOptionsSchema = v.strictObject({
  transaction: v.optional(v.custom<unknown>(
    (x) =>
      x === true ||
      (typeof x === "function" && typeof (x as { savepoint?: unknown }).savepoint === "function") ||
      (typeof x === "object" && x !== null &&
        typeof (x as { rollback?: unknown }).rollback === "function"),
    "must be a postgres.js transaction (the sql that sql.begin hands over), or on SQLite true or a drizzle transaction",
  )),
});

/** A schedule's name. */
export const ScheduleNameSchema = text(200);

/** A schedule's cron pattern (checked by croner too). */
export const CronSchema = v.pipe(
  v.string("must be a string"),
  v.check((s) => s.trim().split(/\s+/).length >= 5, "must have 5 fields (or 6 with seconds)"),
  v.maxLength(200, "must be at most 200 characters"),
  ...storable,
);

/** What a schedule enqueues. */
export const ScheduleSchema = v.strictObject({
  taskType: text(200),
  name: v.optional(text(1000)),
  payload: v.optional(json, () => ({})),
  priority: v.optional(priority, TaskPriority.NORMAL),
  maxRetries: v.optional(integer(0, 1000), 3),
  timeoutMs: v.optional(duration),
  timezone: v.optional(v.pipe(
    v.string("must be a string"),
    v.check(isTimeZone, "must be an IANA time zone such as Europe/Paris"),
  )),
  paused: v.optional(v.boolean("must be a boolean"), false),
});

/** Progress reported by a handler. */
export const ProgressSchema = v.pipe(
  json,
  v.check((value) => value !== undefined, "must be a number or JSON data"),
);

/** A page size. */
export const LimitSchema = integer(1, LIMITS.listPage);

/** List filters. */
export const ListOptionsSchema = v.strictObject(listEntries());

/** `cancelPending()` options: the list's filters (no order), and a limit. */
export const CancelPendingSchema = v.strictObject({
  ...listEntries(),
  sort: v.optional(v.never("is not an option of cancelPending")),
  limit: v.optional(integer(1, 10_000)),
});

/** The entries of the list options. */
function listEntries() {
  return {
    search: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.maxLength(200, "must be at most 200 characters"),
        ...storable,
      ),
    ),
    taskType: v.optional(text(200)),
    priority: v.optional(priority),
    due: v.optional(v.picklist(TASK_DUE, `must be one of ${TASK_DUE.join(", ")}`)),
    sort: v.optional(v.strictObject({
      by: v.picklist(TASK_SORT_KEYS, `must be one of ${TASK_SORT_KEYS.join(", ")}`),
      descending: v.boolean("must be a boolean"),
    })),
  };
}

/** A page offset. */
export const OffsetSchema = integer(0, Number.MAX_SAFE_INTEGER);

/**
 * Parses `input` with `schema`, or throws a `ValidationError` such as
 * `Invalid enqueue options: priority must be a TaskPriority ...`.
 */
export function parse<const S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  what: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => describeIssue(v.getDotPath(issue), issue.message));
  throw new ValidationError(`Invalid ${what}: ${problems.join("; ")}`, {
    issues: result.issues,
    cause: new v.ValiError(result.issues),
  });
}

/**
 * One issue as `path message`, with valibot's own wording for object keys turned into ours
 * (`is not a known option`, `is required`, `must be an object`).
 */
export function describeIssue(path: string | null, message: string): string {
  let text = message;
  if (/^Invalid key: Expected never/.test(message)) text = "is not a known option";
  else if (/^Invalid key: Expected ".*" but received undefined/.test(message)) text = "is required";
  else if (/^Invalid type: Expected Object/.test(message)) text = "must be an object";
  return path ? `${path} ${text}` : text;
}

/** A worker's id. */
export const WorkerIdSchema = text(200);

/** A worker's registration in the worker registry (sent again as its heartbeat). */
export const WorkerRegistrationSchema = v.strictObject({
  id: WorkerIdSchema,
  host: v.optional(v.pipe(v.string("must be a string"), v.maxLength(255), ...storable), ""),
  pid: v.optional(v.nullable(integer(0, 2 ** 31 - 1)), null),
  runtime: v.optional(v.pipe(v.string("must be a string"), v.maxLength(100), ...storable), ""),
  taskTypes: v.optional(
    v.nullable(
      v.pipe(v.array(TaskTypeSchema, "must be an array of task types"), v.maxLength(1000)),
    ),
    null,
  ),
  concurrency: integer(1, 1_000_000),
  startedAt: integer(0, MAX_TIME),
  beatIntervalMs: duration,
});

/** `waitFor` options. */
export const WaitOptionsSchema = v.strictObject({
  timeoutMs: v.optional(integer(0, 2 ** 31 - 1)),
  pollIntervalMs: v.optional(duration),
  signal: v.optional(
    v.custom<AbortSignal>(
      (x) => typeof AbortSignal !== "undefined" && x instanceof AbortSignal,
      "must be an AbortSignal",
    ),
  ),
});
