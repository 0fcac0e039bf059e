/**
 * The PostgreSQL engine's dequeue, inside its transaction: expired leases put back first (read
 * with `FOR UPDATE SKIP LOCKED`, the core decides each, one fenced `UPDATE … FROM unnest(…)`),
 * then the claim: `UPDATE … WHERE id IN (SELECT … ORDER BY priority DESC, scheduled_at, id
 * FOR UPDATE SKIP LOCKED LIMIT n) RETURNING …`, one round trip per round, so that workers on many
 * machines never wait for each other. Pauses and limits go through the core's `planClaim` with
 * counts read in the transaction; a claim under limits first takes a transaction-scoped advisory
 * lock on the queue, so that limits hold across machines. Types with per-key limits are claimed
 * fairly across their keys (`_fair_claim.ts`).
 *
 * @module
 */

import type { ClaimRequest, RecoveryDecision, TypeControl } from "../engine.ts";
import { type ClaimPlan, isLimited, planClaim } from "../core/claim_plan.ts";
import type { Task } from "../task.ts";
import { undecodable } from "../sqlite/_rows.ts";
import { claimFair } from "./_fair_claim.ts";
import { type PgRow, toControl, toTask, withChanges } from "./_rows.ts";
import {
  addCount,
  CHANGEABLE,
  failedAttempt,
  failUndecodable,
  LEASE_ERROR,
  type On,
} from "./_statements.ts";

const NO_COUNTS: ReadonlyMap<string, number> = new Map();

/**
 * Puts back the running tasks whose lease expired at or before `now`, as `decide` says; rows
 * another transaction holds are left to it.
 *
 * @returns The recovered tasks, in lease expiry order.
 */
export async function recoverExpired(
  on: On,
  now: number,
  decide: RecoveryDecision,
): Promise<Task[]> {
  const { db, t } = on;
  const expired = await db`SELECT * FROM ${t.tasks}
    WHERE status = 'running' AND lease_expires_at <= ${now}::int8
    ORDER BY lease_expires_at, id FOR UPDATE SKIP LOCKED`;
  if (expired.length === 0) return [];
  const tasks = expired.map(toTask);
  const retryAts = tasks.map((task) => decide(task, now));
  const rows = await db`UPDATE ${t.tasks} AS task SET ${
    failedAttempt(on, LEASE_ERROR(db), db`item.u_retry_at`, now)
  }
    FROM unnest(${tasks.map((task) => task.id)}::int8[], ${
    tasks.map((task) => task.attempts)
  }::int4[], ${retryAts}::int8[]) AS item(u_id, u_attempts, u_retry_at)
    WHERE task.id = item.u_id AND task.attempts = item.u_attempts AND task.status = 'running'
      AND task.lease_expires_at <= ${now}::int8
    RETURNING ${db(CHANGEABLE.map((c) => `task.${c}`))}`;
  const byId = new Map(rows.map((row) => [Number(row.id), row]));
  const recovered: Task[] = [];
  for (const task of tasks) {
    const row = byId.get(task.id);
    if (row) recovered.push(withChanges(task, row));
  }
  return recovered;
}

/**
 * Claims due tasks for `request`, honouring pauses and limits.
 *
 * @returns The claimed tasks, in claim order.
 */
export async function claimTasks(on: On, request: ClaimRequest, lockKey: string): Promise<Task[]> {
  const { db, t } = on;
  const controls = (await db`SELECT * FROM ${t.controls}`).map(toControl);
  const tasks = controls.length === 0
    ? await claimExcept(on, request, [])
    : await claimPlanned(on, request, controls, lockKey);
  return tasks.sort(claimOrder);
}

/** The claim's filters: only `taskTypes` (when given), none of `excluded`. */
export function filters(on: On, request: ClaimRequest, excluded: readonly string[]) {
  const { db } = on;
  const only = request.taskTypes
    ? db`AND task_type = ANY(${request.taskTypes as string[]}::text[])`
    : db``;
  const except = excluded.length > 0
    ? db`AND task_type <> ALL(${excluded as string[]}::text[])`
    : db``;
  return db`status = 'pending' AND scheduled_at <= ${request.now}::int8 ${only} ${except}`;
}

/** What a claim writes: the lease, and one more attempt (the new fencing token). */
export function claimSet(on: On, request: ClaimRequest) {
  return on.db`status = 'running', attempts = attempts + 1, started_at = ${request.now}::int8,
    worker_id = ${request.workerId}::text, lease_ms = ${request.leaseMs}::int8,
    lease_expires_at = ${request.now + request.leaseMs}::int8`;
}

/** The tasks of one claim statement that decode (the others failed for good), and its row count. */
export async function decoded(
  on: On,
  rows: readonly PgRow[],
  now: number,
): Promise<{ tasks: Task[]; rows: number }> {
  const tasks: Task[] = [];
  let failed = 0;
  for (const row of rows) {
    const task = toTask(row);
    const problem = undecodable(task);
    if (problem === undefined) tasks.push(task);
    else failed += (await failUndecodable(on, task.id, problem, now)).count;
  }
  if (failed > 0) await addCount(on, "failed", failed);
  return { tasks, rows: rows.length };
}

async function claimExcept(
  on: On,
  request: ClaimRequest,
  excluded: readonly string[],
): Promise<Task[]> {
  const { db, t } = on;
  const claimed: Task[] = [];
  for (;;) {
    const limit = request.limit - claimed.length;
    const rows = await db`UPDATE ${t.tasks} SET ${claimSet(on, request)}
      WHERE id IN (SELECT id FROM ${t.tasks} WHERE ${filters(on, request, excluded)}
        ORDER BY priority DESC, scheduled_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING *`;
    const round = await decoded(on, rows, request.now);
    claimed.push(...round.tasks);
    if (round.tasks.length === round.rows || round.rows < limit) return claimed;
  }
}

/** Under the queue's claim lock: the counts, the core's plan, the claim, the rate record. */
async function claimPlanned(
  on: On,
  request: ClaimRequest,
  controls: readonly TypeControl[],
  lockKey: string,
): Promise<Task[]> {
  const { db, t } = on;
  const limited = controls.some(isLimited);
  if (limited) await db`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`;
  const running = controls.some((control) => control.concurrency !== null)
    ? new Map(
      (await db`SELECT task_type, count(*) AS count FROM ${t.tasks}
        WHERE status = 'running' GROUP BY task_type`)
        .map((row) => [row.task_type as string, Number(row.count)]),
    )
    : NO_COUNTS;
  let rateUsed = NO_COUNTS;
  if (controls.some((control) => control.rate !== null || control.ratePerKey !== null)) {
    await db`DELETE FROM ${t.rateEvents} AS r WHERE claimed_at <= ${request.now}::int8 - coalesce(
      (SELECT greatest(coalesce(c.rate_window_ms, 0), coalesce(c.key_rate_window_ms, 0))
        FROM ${t.controls} AS c WHERE c.task_type = r.task_type), 0)`;
    rateUsed = new Map(
      (await db`SELECT e.task_type, count(*) AS count FROM ${t.rateEvents} AS e
        JOIN ${t.controls} AS c ON c.task_type = e.task_type
        WHERE c.rate_window_ms IS NOT NULL AND e.claimed_at > ${request.now}::int8 - c.rate_window_ms
        GROUP BY e.task_type`).map((row) => [row.task_type as string, Number(row.count)]),
    );
  }
  const plan = planClaim({
    controls,
    running,
    rateUsed,
    taskTypes: request.taskTypes,
    limit: request.limit,
  });
  if (plan.blocked) return [];
  const tasks = plan.keyed.length > 0
    ? await claimFair(on, request, plan, controls)
    : plan.quotas.length === 0
    ? await claimExcept(on, request, plan.excluded)
    : await claimCapped(on, request, plan);
  const rated = tasks.filter((task) => plan.rated.includes(task.taskType));
  if (rated.length > 0) {
    await db`INSERT INTO ${t.rateEvents} (task_type, concurrency_key, claimed_at)
      SELECT u.task_type, u.concurrency_key, ${request.now}::int8
      FROM unnest(${rated.map((task) => task.taskType)}::text[],
        ${rated.map((task) => task.concurrencyKey)}::text[]) AS u(task_type, concurrency_key)`;
  }
  return tasks;
}

/**
 * Claims in capped rounds: the first `limit` due tasks (locked, skipping locked ones) of which at
 * most a type's room of each limited type; a round that fills a type's room may have left others
 * behind it, so the next one excludes the types that filled up.
 */
async function claimCapped(on: On, request: ClaimRequest, plan: ClaimPlan): Promise<Task[]> {
  const { db, t } = on;
  const rooms = new Map(plan.quotas.map((quota) => [quota.taskType, quota.room]));
  const excluded = [...plan.excluded];
  const claimed: Task[] = [];
  while (claimed.length < request.limit) {
    const limit = request.limit - claimed.length;
    const rows = await db`WITH candidate AS (
        SELECT id, task_type, priority, scheduled_at FROM ${t.tasks}
        WHERE ${filters(on, request, excluded)}
        ORDER BY priority DESC, scheduled_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      ), ranked AS (
        SELECT id, task_type, row_number() OVER (PARTITION BY task_type
          ORDER BY priority DESC, scheduled_at, id) AS rn FROM candidate
      )
      UPDATE ${t.tasks} SET ${claimSet(on, request)}
      WHERE id IN (SELECT ranked.id FROM ranked
        LEFT JOIN unnest(${[...rooms.keys()]}::text[], ${[...rooms.values()]}::int8[])
          AS room(task_type, room) ON room.task_type = ranked.task_type
        WHERE room.room IS NULL OR ranked.rn <= room.room)
      RETURNING *`;
    const round = await decoded(on, rows, request.now);
    claimed.push(...round.tasks);
    let filled = false;
    for (const task of round.tasks) {
      const room = rooms.get(task.taskType);
      if (room === undefined) continue;
      if (room > 1) rooms.set(task.taskType, room - 1);
      else {
        rooms.delete(task.taskType);
        excluded.push(task.taskType);
        filled = true;
      }
    }
    if ((!filled && round.tasks.length === round.rows) || round.rows === 0) break;
  }
  return claimed;
}

function claimOrder(a: Task, b: Task): number {
  return b.priority - a.priority || a.scheduledAt - b.scheduledAt || a.id - b.id;
}
