/**
 * The SQL of the fair claim (types with per-key limits; `_fair_claim.ts` runs it): a round's
 * candidates in claim order, a claim of given ids, the keys of a type after the rotation's cursor
 * (a loose scan of `tasks_key_idx`: one seek per key, however long a key's backlog), a key's first
 * due tasks, and the per-key counts. Built once like the task
 * statements (`_statements.ts`, which merges these into `STATEMENTS`).
 *
 * @module
 */

import { sql } from "drizzle-orm";
import { claimOrder, claimSet, due } from "./_claim_statements.ts";
import { compile, type Compiled, count, db, p, raw } from "./_sql.ts";
import { tasks } from "./schema.ts";

/** A keyed pending task of the type `taskType` (the predicate of `tasks_key_idx`). */
const keyedPending = sql`${tasks.status} = 'pending' AND ${tasks.concurrencyKey} IS NOT NULL
  AND ${tasks.taskType} = ${p("taskType")}`;

/** A round's due tasks in claim order (ids, types, keys), of any type but `excluded`. */
function candidates(byType: boolean): Compiled {
  const only = byType
    ? sql`AND ${tasks.taskType} IN (SELECT value FROM json_each(${p("taskTypes")}))`
    : sql``;
  return raw(
    sql`SELECT ${tasks.id}, ${tasks.taskType}, ${tasks.concurrencyKey}
      FROM ${tasks} INDEXED BY tasks_dequeue_idx
      WHERE ${due} ${only}
        AND ${tasks.taskType} NOT IN (SELECT value FROM json_each(${p("excluded")}))
      ${claimOrder} LIMIT ${count("limit")}`,
  );
}

/** The fair claim's statements, by name. */
export const FAIR_STATEMENTS = {
  fairCandidates: candidates(false),
  fairCandidatesTypes: candidates(true),

  /** Claims the pending tasks among `ids` (a JSON array). */
  claimIds: compile(
    db.update(tasks).set(claimSet).where(
      sql`${tasks.id} IN (SELECT value FROM json_each(${
        p("ids")
      })) AND ${tasks.status} = 'pending'`,
    ).returning(),
  ),

  /**
   * Up to `limit` keys of `taskType` with pending tasks, in key order after `after` (`''` for the
   * first): each step one seek for the next key.
   */
  nextKeys: raw(
    sql`WITH RECURSIVE k(key) AS (
        SELECT (SELECT min(${tasks.concurrencyKey}) FROM ${tasks} INDEXED BY tasks_key_idx
          WHERE ${keyedPending} AND ${tasks.concurrencyKey} > ${p("after")})
        UNION ALL
        SELECT (SELECT min(${tasks.concurrencyKey}) FROM ${tasks} INDEXED BY tasks_key_idx
          WHERE ${keyedPending} AND ${tasks.concurrencyKey} > k.key)
        FROM k WHERE k.key IS NOT NULL LIMIT ${count("limit")})
      SELECT key FROM k WHERE key IS NOT NULL`,
  ),

  /** A key's due tasks in claim order: `limit` of them after the first `offset` (one seek). */
  keyHead: raw(
    sql`SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_key_idx
      WHERE ${keyedPending} AND ${tasks.concurrencyKey} = ${p("concurrencyKey")}
        AND ${tasks.scheduledAt} <= ${p("now")}
      ${claimOrder} LIMIT ${count("limit")} OFFSET ${count("offset")}`,
  ),

  /** Running tasks per key of the types in `types` (a JSON array). */
  runningByKey: raw(
    sql`SELECT ${tasks.taskType}, ${tasks.concurrencyKey}, count(*) AS count
      FROM ${tasks} INDEXED BY tasks_running_key_idx
      WHERE ${tasks.status} = 'running' AND ${tasks.concurrencyKey} IS NOT NULL
        AND ${tasks.taskType} IN (SELECT value FROM json_each(${p("types")}))
      GROUP BY ${tasks.taskType}, ${tasks.concurrencyKey}`,
  ),

  /** Running tasks of one key of a type. */
  runningOfKey: raw(
    sql`SELECT count(*) AS count FROM ${tasks} INDEXED BY tasks_running_key_idx
      WHERE ${tasks.status} = 'running' AND ${tasks.concurrencyKey} IS NOT NULL
        AND ${tasks.taskType} = ${p("taskType")}
        AND ${tasks.concurrencyKey} = ${p("concurrencyKey")}`,
  ),

  /** The newest running tasks of one key of a type (ids, newest first). */
  runningIdsOfKey: raw(
    sql`SELECT ${tasks.id} FROM ${tasks} INDEXED BY tasks_running_key_idx
      WHERE ${tasks.status} = 'running' AND ${tasks.concurrencyKey} IS NOT NULL
        AND ${tasks.taskType} = ${p("taskType")}
        AND ${tasks.concurrencyKey} = ${p("concurrencyKey")}
      ORDER BY ${tasks.id} DESC LIMIT ${count("limit")}`,
  ),
} as const;
