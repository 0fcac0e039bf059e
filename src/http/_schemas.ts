/**
 * valibot schemas of the HTTP API's bodies, queries and params (the queue re-checks what it is
 * given; these make bad requests fail as 400s before any handler runs, and feed the OpenAPI
 * document).
 *
 * @module
 */

import * as v from "valibot";
import {
  CancelPendingSchema,
  CronSchema,
  duration,
  EnqueueSchema,
  integer,
  LimitsSchema,
  message,
  PruneSchema,
  RetryFailedSchema,
  ScheduleSchema,
  text,
  WorkerIdSchema,
  WorkerRegistrationSchema,
} from "../_validation.ts";
import { json } from "../_json_data.ts";
import { TASK_STATUSES } from "../task.ts";
import { TASK_DUE, TASK_SORT_KEYS } from "../task_query.ts";
import { MAX_ERROR_LENGTH } from "../_failure.ts";

const MAX_TIME = 8.64e15;

/** A `:id` path parameter. */
export const IdParam = v.object({
  id: v.pipe(
    v.string(),
    v.regex(/^[1-9]\d{0,14}$/, "must be a positive integer"),
    v.transform(Number),
  ),
});

/** A `:name` path parameter (schedules). */
export const NameParam = v.object({ name: text(200) });

/** A `:taskType` path parameter (limits). */
export const TaskTypeParam = v.object({ taskType: text(200) });

const queryInteger = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,15}$/, "must be a whole number"),
    v.transform(Number),
    v.minValue(min, `must be >= ${min}`),
    v.maxValue(max, `must be <= ${max}`),
  );

/** `GET /tasks` query. */
export const ListQuery = v.strictObject({
  status: v.picklist(TASK_STATUSES, `must be one of ${TASK_STATUSES.join(", ")}`),
  limit: v.optional(queryInteger(1, 1000), "50"),
  offset: v.optional(queryInteger(0, 1e12), "0"),
  q: v.optional(v.pipe(v.string(), v.maxLength(200, "must be at most 200 characters"))),
  taskType: v.optional(text(200)),
  priority: v.optional(
    v.pipe(v.picklist(["1", "2", "3", "4"], "must be 1 to 4"), v.transform(Number)),
  ),
  due: v.optional(v.picklist(TASK_DUE, `must be one of ${TASK_DUE.join(", ")}`)),
  sort: v.optional(v.picklist(TASK_SORT_KEYS, `must be one of ${TASK_SORT_KEYS.join(", ")}`)),
  order: v.optional(v.picklist(["asc", "desc"], "must be asc or desc")),
  access_token: v.optional(v.string()),
});

/** `GET /history` query: the window and step in ms (validated again by the queue). */
export const HistoryQuery = v.strictObject({
  windowMs: v.optional(queryInteger(60_000, 7 * 86_400_000)),
  stepMs: v.optional(queryInteger(60_000, 7 * 86_400_000)),
  access_token: v.optional(v.string()),
});

/** A due time over HTTP: epoch ms or an ISO 8601 date string. */
const WireTime = v.union([
  integer(0, MAX_TIME),
  v.pipe(
    v.string(),
    v.check((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 date"),
    v.transform((s) => Date.parse(s)),
  ),
], "must be epoch milliseconds or an ISO 8601 date string");

/** One task to enqueue. */
export const EnqueueBody = v.strictObject({
  ...EnqueueSchema.entries,
  scheduledAt: v.optional(WireTime),
});

/** Tasks to enqueue in one transaction. */
export const EnqueueManyBody = v.strictObject({
  tasks: v.pipe(
    v.array(EnqueueBody, "must be an array"),
    v.minLength(1, "must not be empty"),
    v.maxLength(1000, "must hold at most 1000 tasks"),
  ),
});

/** `POST /tasks/retry-failed`. */
export const RetryFailedBody = RetryFailedSchema;

/** `POST /tasks/cancel-pending`: the list's filters, and a limit. */
export const CancelPendingBody = CancelPendingSchema;

/** `POST /tasks/prune`: delete finished tasks. */
export const PruneBody = PruneSchema;

/** `POST /pause` and `/resume`. */
export const PauseBody = v.strictObject({ taskType: v.optional(text(200)) });

/** `PUT /limits/:taskType`. */
export const LimitsBody = LimitsSchema;

/** `PUT /schedules/:name`. */
export const ScheduleBody = v.strictObject({ cron: CronSchema, ...ScheduleSchema.entries });

/** `POST /worker/claim`. */
export const ClaimBody = v.strictObject({
  limit: v.optional(integer(1, 100), 1),
  taskTypes: v.optional(v.pipe(v.array(text(200)), v.minLength(1, "must not be empty"))),
  leaseMs: v.optional(duration),
  workerId: v.optional(text(200)),
  waitMs: v.optional(integer(0, 30_000), 0),
});

const attempts = integer(1, Number.MAX_SAFE_INTEGER);

/** A lease-fenced call: the `attempts` of the claim. */
export const LeaseBody = v.strictObject({ attempts });

/** `POST /worker/tasks/:id/complete`. */
export const CompleteBody = v.strictObject({ attempts, result: v.optional(json) });

/** `POST /worker/tasks/:id/progress`. */
export const ProgressBody = v.strictObject({ attempts, progress: json });

/** `POST /worker/tasks/:id/fail`. */
export const FailBody = v.strictObject({
  attempts,
  error: message(MAX_ERROR_LENGTH),
  retry: v.optional(v.boolean()),
  retryDelayMs: v.optional(integer(0, MAX_TIME)),
});

/** `POST /worker/cancellations`. */
export const CancellationsBody = v.strictObject({
  ids: v.pipe(v.array(integer(1, Number.MAX_SAFE_INTEGER)), v.maxLength(1000)),
});

/** `GET /tasks/:id/wait` query: how long the server holds the request (at most 30 s). */
export const WaitQuery = v.strictObject({
  timeoutMs: v.optional(queryInteger(0, 30_000), "30000"),
  access_token: v.optional(v.string()),
});

/** `POST /worker/register`: a worker's registration, or its beat. */
export const RegisterBody = WorkerRegistrationSchema;

/** `POST /worker/deregister`. */
export const DeregisterBody = v.strictObject({ id: WorkerIdSchema });
