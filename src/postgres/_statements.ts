/**
 * The SQL of the PostgreSQL engine that moves tasks, in plain sight: postgres.js tagged templates
 * (every value a bound parameter), on the tables of one schema. `_control_statements.ts` holds
 * those of pauses, limits and schedules; `_claim.ts` the claim and the recovery.
 *
 * Each lease-fenced statement matches `id`, `attempts` (when given) and `status = 'running'`, and
 * returns only the columns a transition can change ({@linkcode CHANGEABLE}); the engine takes the
 * rest from the caller's copy of the task.
 *
 * @module
 */

import type { NewTask } from "../engine.ts";
import type { TaskFilter, TaskSortKey } from "../task_query.ts";
import { TaskPriority } from "../task.ts";
import type { PgRow } from "./_rows.ts";

/** Rows a statement returned, and how many it changed. */
export type Rows = PgRow[] & { count: number };

/**
 * A postgres.js client or transaction, as the engine uses it: a tagged template runs a statement
 * (a template inside another is a fragment of it), a string or list of strings is an identifier.
 */
export interface Db {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<Rows>;
  (identifier: string | readonly string[]): unknown;
}

/** What every statement runs on: a client or transaction, and the schema's tables. */
export interface On {
  /** The client or transaction. */
  readonly db: Db;
  /** `"schema".tasks` and its sibling tables, as identifier fragments. */
  readonly t: Tables;
}

/** The schema's tables as identifier fragments (built once per engine). */
export interface Tables {
  tasks: unknown;
  counts: unknown;
  controls: unknown;
  rateEvents: unknown;
  schedules: unknown;
  /** The worker registry. */
  workers: unknown;
  /** The function that appends to an error history. */
  appendError: unknown;
  /** The per-minute history. */
  buckets: unknown;
  /** The function that adds two histograms. */
  addBins: unknown;
}

/** The tables of `schema`, as fragments of `sql`. */
export function tablesOf(sql: Db, schema: string): Tables {
  const table = (name: string) => sql(`${schema}.${name}`);
  return {
    tasks: table("tasks"),
    counts: table("task_counts"),
    controls: table("task_type_controls"),
    rateEvents: table("rate_events"),
    schedules: table("schedules"),
    workers: table("workers"),
    appendError: table("tasklite_append_error"),
    buckets: table("task_buckets"),
    addBins: table("tasklite_add_bins"),
  };
}

/** The columns a lease-fenced transition can change (and `id`), which it returns. */
export const CHANGEABLE = [
  "id",
  "status",
  "result",
  "error",
  "retry_count",
  "attempts",
  "scheduled_at",
  "started_at",
  "completed_at",
  "failed_at",
  "worker_id",
  "lease_ms",
  "lease_expires_at",
  "progress",
  "errors",
  "cancel_requested_at",
] as const;

/** The columns of {@linkcode CHANGEABLE} as a fragment. */
export const changeable = (db: Db) => db(CHANGEABLE);

/**
 * The text of `errors` with `{ attempt, error, at }` appended (the error as a fragment or a value),
 * by the schema's `tasklite_append_error` (a history that is not a JSON array starts anew).
 */
export function appendError({ db, t }: On, error: unknown, now: unknown) {
  return db`${t.appendError}(errors,
    json_build_object('attempt', attempts, 'error', ${error}::text, 'at', ${now}::int8)::text)`;
}

/** Why a lease expired, as recovery records it. */
export const LEASE_ERROR = (db: Db) =>
  db`('Lease expired after ' || lease_ms || ' ms (worker ' || coalesce(worker_id, 'unknown')
    || ' did not complete or heartbeat)')`;

/**
 * What a failed attempt writes (the error, retry time and `now` as fragments or values): pending again
 * at `retryAt`, `failed` when it is `null`, `cancelled` either way when a cancel was asked while it
 * ran (cancel wins).
 */
export function failedAttempt(on: On, error: unknown, retryAt: unknown, now: unknown) {
  const { db } = on;
  return db`status = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
        WHEN ${retryAt}::int8 IS NULL THEN 'failed' ELSE 'pending' END,
      retry_count = retry_count + 1,
      error = ${error}::text,
      errors = ${appendError(on, error, now)},
      failed_at = ${now}::int8,
      scheduled_at = CASE WHEN cancel_requested_at IS NULL AND ${retryAt}::int8 IS NOT NULL
        THEN ${retryAt}::int8 ELSE scheduled_at END,
      completed_at = CASE WHEN cancel_requested_at IS NOT NULL OR ${retryAt}::int8 IS NULL
        THEN ${now}::int8 ELSE NULL END,
      lease_expires_at = NULL`;
}

/** A fenced transition's arguments. */
export interface Fence {
  id: number;
  attempts: number | null;
}

const fenced = (db: Db, { id, attempts }: Fence) =>
  db`id = ${id} AND (${attempts}::int4 IS NULL OR attempts = ${attempts}::int4)
    AND status = 'running'`;

/** The lease-fenced transitions, one statement each; a row when it applied. */
export const FENCED = {
  heartbeat: ({ db, t }: On, fence: Fence, now: number) =>
    db`UPDATE ${t.tasks} SET lease_expires_at = ${now}::int8 + lease_ms
      WHERE ${fenced(db, fence)} RETURNING ${changeable(db)}`,
  progress: ({ db, t }: On, fence: Fence, progress: string) =>
    db`UPDATE ${t.tasks} SET progress = ${progress}
      WHERE ${fenced(db, fence)} RETURNING ${changeable(db)}`,
  complete: ({ db, t }: On, fence: Fence, result: string, now: number) =>
    db`UPDATE ${t.tasks} SET status = 'completed', result = ${result},
        completed_at = ${now}::int8, lease_expires_at = NULL
      WHERE ${fenced(db, fence)} RETURNING ${changeable(db)}`,
  fail: ({ db, t }: On, fence: Fence, error: string, retryAt: number | null, now: number) =>
    db`UPDATE ${t.tasks} SET ${failedAttempt({ db, t }, error, retryAt, now)}
      WHERE ${fenced(db, fence)} RETURNING ${changeable(db)}`,
  release: ({ db, t }: On, fence: Fence, now: number) =>
    db`UPDATE ${t.tasks} SET status = 'pending', scheduled_at = ${now}::int8,
        lease_expires_at = NULL
      WHERE ${fenced(db, fence)} RETURNING ${changeable(db)}`,
};

/** One lease-fenced item of a many-task statement: its fence and its own time. */
export interface FencedItem extends Fence {
  now: number;
}

/** One completion of {@linkcode completeAll}. */
export interface CompletionItem extends FencedItem {
  result: string;
}

/** One failed attempt of {@linkcode failAll}. */
export interface FailureItem extends FencedItem {
  error: string;
  retryAt: number | null;
}

/** The fence of each unnested item on the task it names. */
const itemFenced = (db: Db) =>
  db`task.id = item.u_id AND (item.u_attempts IS NULL OR task.attempts = item.u_attempts)
    AND task.status = 'running'`;

/** What a many-task statement returns: the changeable columns of each task that matched. */
const changedTasks = (db: Db) => db(CHANGEABLE.map((c) => `task.${c}`));

/**
 * Running → completed for many tasks in one statement (`UPDATE … FROM unnest(…)`), each fenced on
 * its own; returns what changed of each one that matched.
 */
export function completeAll({ db, t }: On, items: readonly CompletionItem[]) {
  return db`UPDATE ${t.tasks} AS task SET status = 'completed', result = item.u_result,
      completed_at = item.u_now, lease_expires_at = NULL
    FROM unnest(${items.map((i) => i.id)}::int8[], ${items.map((i) => i.attempts)}::int4[],
      ${items.map((i) => i.now)}::int8[], ${items.map((i) => i.result)}::text[])
      AS item(u_id, u_attempts, u_now, u_result)
    WHERE ${itemFenced(db)}
    RETURNING ${changedTasks(db)}`;
}

/** Many heartbeats in one statement, each fenced on its own: each lease runs from its `now`. */
export function heartbeatAll({ db, t }: On, items: readonly FencedItem[]) {
  return db`UPDATE ${t.tasks} AS task SET lease_expires_at = item.u_now + task.lease_ms
    FROM unnest(${items.map((i) => i.id)}::int8[], ${items.map((i) => i.attempts)}::int4[],
      ${items.map((i) => i.now)}::int8[]) AS item(u_id, u_attempts, u_now)
    WHERE ${itemFenced(db)}
    RETURNING ${changedTasks(db)}`;
}

/**
 * Many failed attempts in one statement, each fenced on its own and written as
 * {@linkcode failedAttempt} says with its own error, retry time and `now`.
 */
export function failAll(on: On, items: readonly FailureItem[]) {
  const { db, t } = on;
  return db`UPDATE ${t.tasks} AS task
    SET ${failedAttempt(on, db`item.u_error`, db`item.u_retry_at`, db`item.u_now`)}
    FROM unnest(${items.map((i) => i.id)}::int8[], ${items.map((i) => i.attempts)}::int4[],
      ${items.map((i) => i.now)}::int8[], ${items.map((i) => i.error)}::text[],
      ${items.map((i) => i.retryAt)}::int8[])
      AS item(u_id, u_attempts, u_now, u_error, u_retry_at)
    WHERE ${itemFenced(db)}
    RETURNING ${changedTasks(db)}`;
}

/** A failed task of a claim whose row cannot be decoded: failed for good with the reason. */
export function failUndecodable({ db, t }: On, id: number, error: string, now: number) {
  return db`UPDATE ${t.tasks} SET status = 'failed', retry_count = retry_count + 1,
      error = ${error}, errors = ${appendError({ db, t }, error, now)}, failed_at = ${now}::int8,
      completed_at = ${now}::int8, lease_expires_at = NULL
    WHERE id = ${id} AND status = 'running'`;
}

/** Pending → cancelled; running → marked for cancellation. */
export function cancel({ db, t }: On, id: number, now: number) {
  return db`UPDATE ${t.tasks} SET
      status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
      completed_at = CASE WHEN status = 'pending' THEN ${now}::int8 ELSE completed_at END,
      cancel_requested_at = CASE WHEN status = 'running'
        THEN coalesce(cancel_requested_at, ${now}::int8) ELSE cancel_requested_at END
    WHERE id = ${id} AND status IN ('pending', 'running') RETURNING *`;
}

/** A pending task due later → due now. */
export function promote({ db, t }: On, id: number, now: number) {
  return db`UPDATE ${t.tasks} SET scheduled_at = ${now}::int8
    WHERE id = ${id} AND status = 'pending' AND scheduled_at > ${now}::int8 RETURNING *`;
}

/** Failed or cancelled → pending, retries reset; not while another live task holds its key. */
export function retry({ db, t }: On, id: number, now: number) {
  return db`UPDATE ${t.tasks} AS task SET status = 'pending', retry_count = 0,
      scheduled_at = ${now}::int8, completed_at = NULL, result = NULL, cancel_requested_at = NULL
    WHERE id = ${id} AND status IN ('failed', 'cancelled')
      AND (unique_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM ${t.tasks} AS holder WHERE holder.unique_key = task.unique_key
          AND holder.status IN ('pending', 'running')))
    RETURNING *`;
}

/** One task by id. */
export const getTask = ({ db, t }: On, id: number) => db`SELECT * FROM ${t.tasks} WHERE id = ${id}`;

/** Adds `delta` to a finished status's count. */
export const addCount = ({ db, t }: On, status: string, delta: number) =>
  db`UPDATE ${t.counts} SET count = count + ${delta}::int8 WHERE status = ${status}`;

/** Rows of `[minute, taskType, kind, count, waitBins, runBins]` from JSON text. */
const bucketRows = ({ db }: On, items: string) =>
  db`SELECT (i ->> 0)::int8, i ->> 1, i ->> 2, (i ->> 3)::int8,
      ARRAY(SELECT v::int8 FROM jsonb_array_elements_text(i -> 4) WITH ORDINALITY AS e(v, n)
        ORDER BY n),
      ARRAY(SELECT v::int8 FROM jsonb_array_elements_text(i -> 5) WITH ORDINALITY AS e(v, n)
        ORDER BY n)
    FROM jsonb_array_elements((${items}::text)::jsonb) AS i`;

/**
 * Adds a transaction's tally: one row per (minute, type, kind), merged into this connection's
 * shard (its backend pid), so that transactions on other connections never wait for it.
 */
export const addBuckets = (on: On, items: string) =>
  on.db`INSERT INTO ${on.t.buckets} AS b
      (minute, task_type, kind, count, wait_bins, run_bins, shard)
    SELECT r.*, pg_backend_pid() FROM (${bucketRows(on, items)}) AS r
    ON CONFLICT (minute, task_type, kind, shard) DO UPDATE SET count = b.count + excluded.count,
      wait_bins = ${on.t.addBins}(b.wait_bins, excluded.wait_bins),
      run_bins = ${on.t.addBins}(b.run_bins, excluded.run_bins)`;

/** A backlog sample for one minute, unless a process took that minute's sample already. */
export const sampleBacklog = (on: On, minute: number, items: string) =>
  on.db`INSERT INTO ${on.t.buckets} (minute, task_type, kind, count, wait_bins, run_bins)
    SELECT * FROM (${bucketRows(on, items)}) AS r WHERE NOT EXISTS (SELECT 1 FROM ${on.t.buckets}
      WHERE minute = ${minute}::int8 AND task_type = '*' AND kind = 'pending')
    ON CONFLICT (minute, task_type, kind, shard) DO NOTHING`;

/** Buckets of `since` and later, oldest first. */
export const buckets = ({ db, t }: On, since: number) =>
  db`SELECT minute, task_type, kind, count, wait_bins, run_bins FROM ${t.buckets}
    WHERE minute >= ${since}::int8 ORDER BY minute, task_type, kind`;

/** Finished attempts per type and outcome, over every bucket and the roll-up. */
export const bucketTotals = ({ db, t }: On, kinds: readonly string[]) =>
  db`SELECT task_type, kind, sum(count)::int8 AS count FROM ${t.buckets}
    WHERE kind = ANY(${kinds as string[]}::text[]) GROUP BY task_type, kind
    ORDER BY task_type, kind`;

/** Adds the finished-attempt counts of buckets before `before` to the roll-up (minute 0). */
export const rollUpBuckets = ({ db, t }: On, before: number, kinds: readonly string[]) =>
  db`INSERT INTO ${t.buckets} AS b (minute, task_type, kind, count, wait_bins, run_bins)
    SELECT 0, task_type, kind, sum(count), '{}', '{}' FROM ${t.buckets}
    WHERE minute > 0 AND minute < ${before}::int8 AND kind = ANY(${kinds as string[]}::text[])
    GROUP BY task_type, kind
    ON CONFLICT (minute, task_type, kind, shard) DO UPDATE SET count = b.count + excluded.count`;

/** Deletes the buckets before `before` (after the roll-up). */
export const pruneBuckets = ({ db, t }: On, before: number) =>
  db`DELETE FROM ${t.buckets} WHERE minute > 0 AND minute < ${before}::int8`;

/** Inserts one task unless its unique key is live; returns its id, or no row. */
export function insertOne({ db, t }: On, task: NewTask, now: number) {
  const key = task.uniqueKey;
  return db`INSERT INTO ${t.tasks} (name, task_type, payload, priority, status,
      max_retries, unique_key, created_at, scheduled_at, timeout_ms, retry_policy, concurrency_key)
    SELECT ${task.name}::text, ${task.taskType}::text, ${JSON.stringify(task.payload)}::text,
      ${task.priority}::int4, 'pending', ${task.maxRetries}::int4, ${key}::text, ${now}::int8,
      ${task.scheduledAt}::int8, ${task.timeoutMs}::int8, ${retryPolicyOf(task)}::text,
      ${task.concurrencyKey}::text
    WHERE ${key}::text IS NULL OR NOT EXISTS (SELECT 1 FROM ${t.tasks}
      WHERE unique_key = ${key}::text AND status IN ('pending', 'running'))
    ON CONFLICT DO NOTHING RETURNING id`;
}

/** The live task holding a unique key. */
export const findLiveByKey = ({ db, t }: On, key: string) =>
  db`SELECT id FROM ${t.tasks}
    WHERE unique_key = ${key} AND status IN ('pending', 'running')`;

/** Inserts keyless tasks in one statement (`unnest` of one array per column); returns their ids. */
export function insertMany({ db, t }: On, items: readonly { task: NewTask; now: number }[]) {
  const col = <T>(f: (item: { task: NewTask; now: number }) => T) => items.map(f);
  return db`INSERT INTO ${t.tasks} (name, task_type, payload, priority, status,
      max_retries, created_at, scheduled_at, timeout_ms, retry_policy, concurrency_key)
    SELECT u.name, u.task_type, u.payload, u.priority, 'pending', u.max_retries, u.created_at,
      u.scheduled_at, u.timeout_ms, u.retry_policy, u.concurrency_key
    FROM unnest(${col((i) => i.task.name)}::text[], ${col((i) => i.task.taskType)}::text[],
      ${col((i) => JSON.stringify(i.task.payload))}::text[], ${col((i) => i.task.priority)}::int4[],
      ${col((i) => i.task.maxRetries)}::int4[], ${col((i) => i.now)}::int8[],
      ${col((i) => i.task.scheduledAt)}::int8[], ${col((i) => i.task.timeoutMs)}::int8[],
      ${col((i) => retryPolicyOf(i.task))}::text[], ${col((i) => i.task.concurrencyKey)}::text[])
      WITH ORDINALITY AS u(name, task_type, payload, priority, max_retries, created_at,
        scheduled_at, timeout_ms, retry_policy, concurrency_key, ord)
    ORDER BY u.ord RETURNING id`;
}

function retryPolicyOf(task: NewTask): string | null {
  return task.retryPolicy ? JSON.stringify(task.retryPolicy) : null;
}

/** Of these running task ids, the ones asked to cancel. */
export const cancelRequested = ({ db, t }: On, ids: readonly number[]) =>
  db`SELECT id FROM ${t.tasks}
    WHERE id = ANY(${ids as number[]}::int8[]) AND cancel_requested_at IS NOT NULL`;

/** Failed tasks (of a type, or all), oldest first. */
export const failedIds = ({ db, t }: On, taskType: string | null, limit: number) =>
  db`SELECT id FROM ${t.tasks} WHERE status = 'failed'
      AND (${taskType}::text IS NULL OR task_type = ${taskType}::text)
    ORDER BY completed_at, id LIMIT ${limit}`;

/** Deletes tasks of one finished status that finished at or before `before`, oldest first. */
export const prune = ({ db, t }: On, status: string, before: number, limit: number) =>
  db`DELETE FROM ${t.tasks} WHERE id IN (SELECT id FROM ${t.tasks}
    WHERE status = ${status} AND completed_at <= ${before}::int8
    ORDER BY completed_at LIMIT ${limit})`;

/** Counts per status: live ones from their partial indexes, finished ones from `task_counts`. */
export const stats = ({ db, t }: On) =>
  db`SELECT 'pending' AS status, count(*) AS count FROM ${t.tasks}
      WHERE status = 'pending'
    UNION ALL SELECT 'running', count(*) FROM ${t.tasks} WHERE status = 'running'
    UNION ALL SELECT status, count FROM ${t.counts}`;

/** Live tasks per type and status. */
export const liveByType = ({ db, t }: On) =>
  db`SELECT task_type, status, count(*) AS count FROM ${t.tasks}
    WHERE status = 'pending' GROUP BY task_type, status
    UNION ALL SELECT task_type, status, count(*) FROM ${t.tasks}
    WHERE status = 'running' GROUP BY task_type, status`;

/** The column of each sort key (`when`: the status's own time). */
function sortColumn(by: TaskSortKey, status: string): string {
  if (by === "when") {
    return status === "pending"
      ? "scheduled_at"
      : status === "running"
      ? "started_at"
      : "completed_at";
  }
  return {
    id: "id",
    name: "name",
    taskType: "task_type",
    priority: "priority",
    attempts: "attempts",
  }[
    by
  ];
}

/**
 * Tasks of one status, paged and filtered: pending ones in the claim's order (scheduled ones
 * soonest due first), running ones newest first, finished ones most recently finished first,
 * unless `filter.sort` orders them otherwise.
 */
export function list(
  { db, t }: On,
  status: string,
  page: { limit: number; offset: number },
  filter: TaskFilter,
) {
  const { search, taskType, priority, sort } = filter;
  const due = status === "pending" ? filter.due : null;
  const pattern = search === null ? null : `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const id = search !== null && /^\d{1,15}$/.test(search) ? Number(search) : null;
  const searched = pattern === null ? db`` : db`AND (name ILIKE ${pattern} ESCAPE '\\'
    OR task_type ILIKE ${pattern} ESCAPE '\\' OR concurrency_key ILIKE ${pattern} ESCAPE '\\'
    OR payload ILIKE ${pattern} ESCAPE '\\'
    ${id === null ? db`` : db`OR id = ${id}::int8`})`;
  const typed = taskType === null ? db`` : db`AND task_type = ${taskType}`;
  const prioritized = priority === null ? db`` : db`AND priority = ${priority}::int4`;
  const timed = due === "ready"
    ? db`AND scheduled_at <= ${filter.now}::int8`
    : due === "scheduled"
    ? db`AND scheduled_at > ${filter.now}::int8`
    : db``;
  const dir = sort?.descending ? db`DESC` : db`ASC`;
  const order = sort
    ? db`${db(sortColumn(sort.by, status))} ${dir}, id ${dir}`
    : due === "scheduled"
    ? db`scheduled_at, id`
    : status === "pending"
    ? db`priority DESC, scheduled_at, id`
    : status === "running"
    ? db`id DESC`
    : db`completed_at DESC, id DESC`;
  return db`SELECT * FROM ${t.tasks} WHERE status = ${status} ${searched} ${typed} ${prioritized}
    ${timed} ORDER BY ${order} LIMIT ${page.limit} OFFSET ${page.offset}`;
}

/** The newest time a writer recorded. */
export const latestWrite = ({ db, t }: On) =>
  db`SELECT greatest(
      (SELECT created_at FROM ${t.tasks} ORDER BY id DESC LIMIT 1),
      (SELECT max(lease_expires_at - lease_ms) FROM ${t.tasks} WHERE status = 'running'),
      (SELECT max(completed_at) FROM ${t.tasks} WHERE status = 'completed'),
      (SELECT max(completed_at) FROM ${t.tasks} WHERE status = 'failed'),
      (SELECT max(completed_at) FROM ${t.tasks} WHERE status = 'cancelled')) AS at`;

const PRIORITIES = Object.values(TaskPriority);

/** The earliest due time, lease expiry or schedule slot (each an index seek). */
export const nextWake = ({ db, t }: On) =>
  db`SELECT least(
      (SELECT min(at) FROM (SELECT (SELECT scheduled_at FROM ${t.tasks}
        WHERE status = 'pending' AND priority = p ORDER BY scheduled_at LIMIT 1) AS at
        FROM unnest(${PRIORITIES as number[]}::int4[]) AS p) AS pending),
      (SELECT min(lease_expires_at) FROM ${t.tasks} WHERE status = 'running'),
      (SELECT min(next_run_at) FROM ${t.schedules} WHERE NOT paused)) AS at`;
