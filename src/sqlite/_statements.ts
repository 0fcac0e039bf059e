/**
 * Every SQL statement of the SQLite engine, built once by drizzle from the schema and prepared
 * once per connection. Named placeholders (`p("now")`) become positional `?` parameters; a
 * statement's `bind()` turns named arguments into the positional array.
 *
 * Status literals are written inline (not bound) so that SQLite can use the partial indexes, and
 * the claim and recovery name their index (`INDEXED BY`): without statistics the planner would
 * rather walk `tasks_status_idx`, which costs O(pending) per claim and O(running) per recovery.
 *
 * @module
 */

import { is, Param, Placeholder, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/sqlite-proxy";
import type { SqliteValue } from "../drivers/driver.ts";
import { tasks } from "./schema.ts";

/** A statement's SQL text and how to bind its named parameters. */
export interface Compiled {
  /** SQL with positional `?` parameters. */
  readonly sql: string;
  /** Turns named arguments into the positional parameter array. */
  bind(args: Readonly<Record<string, SqliteValue>>): SqliteValue[];
}

// drizzle used as a statement builder only: the proxy callback never runs.
const db = drizzle(() => {
  throw new Error("tasklite: the drizzle builder does not execute statements");
});

const p = (name: string) => sql`${sql.placeholder(name)}`;

function compile(query: { toSQL(): { sql: string; params: unknown[] } }): Compiled {
  const { sql: text, params } = query.toSQL();
  const slots = params.map((param): { name: string } | { value: SqliteValue } => {
    const inner = is(param, Param) ? param.value : param;
    if (is(inner, Placeholder)) return { name: inner.name };
    return { value: inner as SqliteValue };
  });
  return {
    sql: text,
    bind(args) {
      return slots.map((slot) => {
        if (!("name" in slot)) return slot.value;
        const value = args[slot.name];
        if (value === undefined) throw new TypeError(`Missing SQL parameter "${slot.name}"`);
        return value;
      });
    },
  };
}

const live = sql`${tasks.status} IN ('pending', 'running')`;
const fenced = sql`${tasks.id} = ${p("id")} AND (${p("attempts")} IS NULL OR ${tasks.attempts} = ${
  p("attempts")
})`;

function claim(byType: boolean) {
  const types = byType
    ? sql`AND ${tasks.taskType} IN (SELECT value FROM json_each(${p("taskTypes")}))`
    : sql``;
  return compile(
    db.update(tasks).set({
      status: sql`'running'`,
      attempts: sql`${tasks.attempts} + 1`,
      startedAt: p("now"),
      workerId: p("workerId"),
      leaseMs: p("leaseMs"),
      leaseExpiresAt: p("leaseExpiresAt"),
    }).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_dequeue_idx
      WHERE ${tasks.status} = 'pending' AND ${tasks.scheduledAt} <= ${p("now")} ${types}
      ORDER BY ${tasks.priority} DESC, ${tasks.scheduledAt}, ${tasks.id}
      LIMIT ${p("limit")})`).returning(),
  );
}

/** The statements, by transition. */
export const STATEMENTS = {
  /** Inserts one pending task; returns nothing when its unique key is live already. */
  insert: compile(
    db.insert(tasks).values({
      name: p("name"),
      taskType: p("taskType"),
      payload: p("payload"),
      priority: p("priority"),
      status: sql`'pending'`,
      retryCount: 0,
      maxRetries: p("maxRetries"),
      attempts: 0,
      uniqueKey: p("uniqueKey"),
      createdAt: p("now"),
      scheduledAt: p("scheduledAt"),
    }).onConflictDoNothing().returning({ id: tasks.id }),
  ),

  /** The live task holding a unique key. */
  findLiveByKey: compile(
    db.select({ id: tasks.id }).from(tasks).where(
      sql`${tasks.uniqueKey} = ${p("uniqueKey")} AND ${live}`,
    ),
  ),

  /** Running tasks whose lease ran out: one failed attempt each, then pending or failed. */
  recover: compile(
    db.update(tasks).set({
      status: sql`CASE WHEN ${tasks.retryCount} + 1 > ${tasks.maxRetries}
        THEN 'failed' ELSE 'pending' END`,
      retryCount: sql`${tasks.retryCount} + 1`,
      error: sql`'Lease expired after ' || ${tasks.leaseMs} || ' ms (worker '
        || coalesce(${tasks.workerId}, 'unknown') || ' did not complete or heartbeat)'`,
      failedAt: p("now"),
      completedAt: sql`CASE WHEN ${tasks.retryCount} + 1 > ${tasks.maxRetries}
        THEN ${p("now")} ELSE NULL END`,
      scheduledAt: p("now"),
      leaseExpiresAt: null,
    }).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_lease_idx
      WHERE ${tasks.status} = 'running' AND ${tasks.leaseExpiresAt} <= ${p("now")})`),
  ),

  /** Claims the due tasks of any type in priority, due time and id order, in one statement. */
  claim: claim(false),

  /** The same, for the task types in the JSON array `taskTypes`. */
  claimTypes: claim(true),

  /** Extends a running task's lease, fenced by its token when one is given. */
  heartbeat: compile(
    db.update(tasks).set({ leaseExpiresAt: sql`${p("now")} + ${tasks.leaseMs}` })
      .where(sql`${fenced} AND ${tasks.status} = 'running'`).returning(),
  ),

  /** Running → completed. */
  complete: compile(
    db.update(tasks).set({
      status: sql`'completed'`,
      result: p("result"),
      completedAt: p("now"),
      leaseExpiresAt: null,
    }).where(sql`${fenced} AND ${tasks.status} = 'running'`).returning(),
  ),

  /** Running → pending (retry at `scheduledAt`) or failed (`completedAt` set). */
  fail: compile(
    db.update(tasks).set({
      status: p("status"),
      retryCount: sql`${tasks.retryCount} + 1`,
      error: p("error"),
      failedAt: p("now"),
      scheduledAt: p("scheduledAt"),
      completedAt: p("completedAt"),
      leaseExpiresAt: null,
    }).where(sql`${fenced} AND ${tasks.status} = 'running'`).returning(),
  ),

  /** Pending → cancelled. */
  cancel: compile(
    db.update(tasks).set({ status: sql`'cancelled'`, completedAt: p("now") })
      .where(sql`${tasks.id} = ${p("id")} AND ${tasks.status} = 'pending'`).returning(),
  ),

  /** Failed or cancelled → pending, retries reset (a redrive). */
  retry: compile(
    db.update(tasks).set({
      status: sql`'pending'`,
      retryCount: 0,
      scheduledAt: p("now"),
      completedAt: null,
      result: null,
    }).where(sql`${tasks.id} = ${p("id")} AND ${tasks.status} IN ('failed', 'cancelled')`)
      .returning(),
  ),

  /** One task by id. */
  get: compile(db.select().from(tasks).where(sql`${tasks.id} = ${p("id")}`)),

  /** Counts per status. */
  stats: compile(
    db.select({ status: tasks.status, count: sql<number>`count(*)`.as("count") }).from(tasks)
      .groupBy(tasks.status),
  ),

  /** Tasks with a status, newest first. */
  list: compile(
    db.select().from(tasks).where(sql`${tasks.status} = ${p("status")}`)
      .orderBy(sql`${tasks.id} DESC`).limit(sql.placeholder("limit")).offset(
        sql.placeholder("offset"),
      ),
  ),
} as const;
