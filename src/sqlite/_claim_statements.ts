/**
 * The claim's SQL statements (due pending tasks to running, in priority, due time and id order,
 * through the dequeue index), built once like the task statements (`_statements.ts`, which merges
 * these into `STATEMENTS`).
 *
 * @module
 */

import { sql } from "drizzle-orm";
import { compile, type Compiled, count, db, p } from "./_sql.ts";
import { tasks } from "./schema.ts";

/** A due pending task (`now` bound). */
export const due = sql`${tasks.status} = 'pending' AND ${tasks.scheduledAt} <= ${p("now")}`;
/** The claim order: priority, due time, id. */
export const claimOrder = sql`ORDER BY ${tasks.priority} DESC, ${tasks.scheduledAt}, ${tasks.id}`;

/** What a claim writes: the lease, and one more attempt (the new fencing token). */
export const claimSet = {
  status: sql`'running'`,
  attempts: sql`${tasks.attempts} + 1`,
  startedAt: p("now"),
  workerId: p("workerId"),
  leaseMs: p("leaseMs"),
  leaseExpiresAt: p("leaseExpiresAt"),
};

/**
 * The claim: due pending tasks in priority, due time and id order, in one statement. Variants
 * restrict to some task types (`taskTypes`, a JSON array) and exclude others (`excluded`: paused
 * and limited types).
 */
function claim(byType: boolean, excluding: boolean): Compiled {
  const only = byType
    ? sql`AND ${tasks.taskType} IN (SELECT value FROM json_each(${p("taskTypes")}))`
    : sql``;
  const except = excluding
    ? sql`AND ${tasks.taskType} NOT IN (SELECT value FROM json_each(${p("excluded")}))`
    : sql``;
  return compile(
    db.update(tasks).set(claimSet).where(sql`${tasks.id} IN (
      SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_dequeue_idx
      WHERE ${due} ${only} ${except} ${claimOrder} LIMIT ${count("limit")})`).returning(),
  );
}

/**
 * The claim with per-type caps, in one statement: the first `limit` due tasks in claim order of any
 * type but `excluded`, of which at most `rooms[type]` of each capped type (`rooms`, a JSON object).
 * Capped tasks past their room are left pending; the engine claims again without the types that
 * filled up, so a claim takes at most one more round per limited type, however many tasks it takes.
 */
function claimCapped(byType: boolean): Compiled {
  const only = byType
    ? sql`AND ${tasks.taskType} IN (SELECT value FROM json_each(${p("taskTypes")}))`
    : sql``;
  return compile(
    db.update(tasks).set(claimSet).where(sql`${tasks.id} IN (
      SELECT cid FROM (
        SELECT cid, ctype, row_number() OVER (PARTITION BY ctype ORDER BY cpri DESC, cat, cid) AS rn
        FROM (SELECT ${tasks.id} AS cid, ${tasks.taskType} AS ctype, ${tasks.priority} AS cpri,
            ${tasks.scheduledAt} AS cat
          FROM ${tasks} INDEXED BY tasks_dequeue_idx
          WHERE ${due} ${only}
            AND ${tasks.taskType} NOT IN (SELECT value FROM json_each(${p("excluded")}))
          ${claimOrder} LIMIT ${count("limit")})
      ) LEFT JOIN json_each(${p("rooms")}) AS room ON room.key = ctype
      WHERE room.value IS NULL OR rn <= room.value)`).returning(),
  );
}

/** The claim statements, by name: all types or some, excluding paused and limited ones or not. */
export const CLAIM_STATEMENTS = {
  claim: claim(false, false),
  claimTypes: claim(true, false),
  claimExcept: claim(false, true),
  claimTypesExcept: claim(true, true),
  claimCapped: claimCapped(false),
  claimTypesCapped: claimCapped(true),
} as const;
