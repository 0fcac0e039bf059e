/**
 * The PostgreSQL engine's fair claim, for a claim that may take types with per-key limits (under
 * the queue's claim lock, after the core's `planClaim`): the rounds of the SQLite engine's
 * (`../sqlite/_fair_claim.ts`, which explains them) with the same core functions (`keyRoom`,
 * `splitCandidates`), as postgres.js statements: a round's candidates in claim order, the keys after
 * the type's cursor by a recursive loose scan of `tasks_key_idx`, each key's first due tasks
 * through `LATERAL`, and the claim of the picked ids (`FOR UPDATE SKIP LOCKED`).
 *
 * @module
 */

import type { ClaimRequest, KeyUsage, TypeControl } from "../engine.ts";
import type { ClaimPlan } from "../core/claim_plan.ts";
import { type Candidate, IDLE_KEY, keyRoom, splitCandidates } from "../core/key_limits.ts";
import type { Task } from "../task.ts";
import { claimSet, decoded, filters } from "./_claim.ts";
import type { On } from "./_statements.ts";

/**
 * Claims for `request` under `plan`, whose `keyed` types rotate across their keys.
 *
 * @returns The claimed tasks.
 */
export async function claimFair(
  on: On,
  request: ClaimRequest,
  plan: ClaimPlan,
  controls: readonly TypeControl[],
): Promise<Task[]> {
  const { db, t } = on;
  const keyed = new Map(
    plan.keyed.map((type) => [type, controls.find((c) => c.taskType === type)!]),
  );
  const usage = await readUsage(on, request.now, keyed);
  const rooms = new Map(plan.quotas.map((quota) => [quota.taskType, quota.room]));
  const excluded = [...plan.excluded];
  const exclude = (type: string) => {
    if (!excluded.includes(type)) excluded.push(type);
  };
  const keyedTypes = new Set(keyed.keys());
  const claimed: Task[] = [];
  while (claimed.length < request.limit) {
    if (request.taskTypes?.every((type) => excluded.includes(type))) break;
    const want = request.limit - claimed.length;
    const rows = (await db`SELECT id, task_type, concurrency_key FROM ${t.tasks}
      WHERE ${filters(on, request, excluded)}
      ORDER BY priority DESC, scheduled_at, id LIMIT ${want}`).map((row): Candidate => ({
      id: Number(row.id),
      taskType: row.task_type as string,
      concurrencyKey: row.concurrency_key as string | null,
    }));
    if (rows.length === 0) break;
    const split = splitCandidates(rows, rooms, keyedTypes);
    let heldBack = split.filled.length > 0;
    split.filled.forEach(exclude);
    const ids = [...split.plain];
    for (const [type, slots] of split.slots) {
      const picked = await pickFair(on, request.now, keyed.get(type)!, usage.get(type)!, slots);
      if (picked.length < slots) {
        heldBack = true;
        exclude(type);
      }
      ids.push(...picked);
    }
    if (ids.length === 0) {
      if (heldBack) continue;
      break;
    }
    const claimedRows = await db`UPDATE ${t.tasks} SET ${claimSet(on, request)}
      WHERE id IN (SELECT id FROM ${t.tasks} WHERE id = ANY(${ids}::int8[])
        AND status = 'pending' FOR UPDATE SKIP LOCKED)
      RETURNING *`;
    const { tasks } = await decoded(on, claimedRows, request.now);
    claimed.push(...tasks);
    for (const task of tasks) {
      const room = rooms.get(task.taskType);
      if (room !== undefined) {
        if (room > 1) rooms.set(task.taskType, room - 1);
        else {
          rooms.delete(task.taskType);
          exclude(task.taskType);
        }
      }
      const keys = usage.get(task.taskType);
      if (keys && task.concurrencyKey !== null) {
        const used = keys.get(task.concurrencyKey) ?? IDLE_KEY;
        keys.set(task.concurrencyKey, {
          running: used.running + 1,
          heldBy: used.heldBy,
          claimed: used.claimed + 1,
          oldestClaimAt: used.oldestClaimAt ?? request.now,
        });
      }
    }
    if (!heldBack && tasks.length === rows.length) break;
  }
  return claimed;
}

/** Running tasks and claims in the window per key, for each keyed type. */
async function readUsage(
  { db, t }: On,
  now: number,
  keyed: ReadonlyMap<string, TypeControl>,
): Promise<Map<string, Map<string, KeyUsage>>> {
  const usage = new Map([...keyed.keys()].map((type) => [type, new Map<string, KeyUsage>()]));
  const entry = (type: string, key: string) => {
    const keys = usage.get(type);
    if (keys === undefined) return undefined;
    const found = keys.get(key) ?? { ...IDLE_KEY };
    keys.set(key, found);
    return found;
  };
  const counted = [...keyed.values()].filter((c) => c.concurrencyPerKey !== null);
  if (counted.length > 0) {
    const types = counted.map((c) => c.taskType);
    for (
      const row of await db`SELECT task_type, concurrency_key, count(*) AS count FROM ${t.tasks}
        WHERE status = 'running' AND concurrency_key IS NOT NULL
          AND task_type = ANY(${types}::text[])
        GROUP BY task_type, concurrency_key`
    ) {
      const found = entry(row.task_type as string, row.concurrency_key as string);
      if (found) found.running = Number(row.count);
    }
  }
  if ([...keyed.values()].some((c) => c.ratePerKey !== null)) {
    for (
      const row of await db`SELECT e.task_type, e.concurrency_key, count(*) AS count
        FROM ${t.rateEvents} AS e JOIN ${t.controls} AS c ON c.task_type = e.task_type
        WHERE e.concurrency_key IS NOT NULL AND c.key_rate_window_ms IS NOT NULL
          AND e.claimed_at > ${now}::int8 - c.key_rate_window_ms
        GROUP BY e.task_type, e.concurrency_key`
    ) {
      const found = entry(row.task_type as string, row.concurrency_key as string);
      if (found) found.claimed = Number(row.count);
    }
  }
  return usage;
}

/**
 * Up to `slots` due keyed tasks of `control`'s type, by rotation from the key after the type's
 * cursor, rank by rank, each key within its room; moves the cursor to the last key served.
 */
async function pickFair(
  on: On,
  now: number,
  control: TypeControl,
  usage: Map<string, KeyUsage>,
  slots: number,
): Promise<number[]> {
  const { db, t } = on;
  const taskType = control.taskType;
  const [row] = await db`SELECT key_cursor FROM ${t.controls} WHERE task_type = ${taskType}`;
  const cursor = (row?.key_cursor ?? null) as string | null;
  const passes: [string, string | null][] = cursor === null
    ? [["", null]]
    : [[cursor, null], ["", cursor]];
  const keyed = () =>
    db`status = 'pending' AND concurrency_key IS NOT NULL AND task_type = ${taskType}`;
  const picked: number[] = [];
  let last: string | null = null;
  for (const [after, until] of passes) {
    let from = after;
    while (picked.length < slots) {
      const need = slots - picked.length;
      const limit = need;
      const found = (await db`WITH RECURSIVE k(key) AS (
          SELECT (SELECT min(concurrency_key) FROM ${t.tasks}
            WHERE ${keyed()} AND concurrency_key > ${from}::text)
          UNION ALL
          SELECT (SELECT min(concurrency_key) FROM ${t.tasks}
            WHERE ${keyed()} AND concurrency_key > k.key)
          FROM k WHERE k.key IS NOT NULL)
        SELECT key FROM k WHERE key IS NOT NULL LIMIT ${limit}`).map((r) => r.key as string);
      if (found.length === 0) break;
      from = found[found.length - 1]!;
      const cut = until === null ? -1 : found.findIndex((key) => key > until);
      const keys = cut < 0 ? found : found.slice(0, cut);
      const open = keys
        .map((k) => ({ k, r: keyRoom(control, usage.get(k) ?? IDLE_KEY, need) }))
        .filter((key) => key.r > 0);
      if (open.length > 0) {
        const rows = await db`SELECT x.id, k.key FROM
            unnest(${open.map((key) => key.k)}::text[], ${open.map((key) => key.r)}::int4[])
              WITH ORDINALITY AS k(key, room, pos)
            CROSS JOIN LATERAL (
              SELECT id, row_number() OVER (ORDER BY priority DESC, scheduled_at, id) AS rn
              FROM (SELECT id, priority, scheduled_at FROM ${t.tasks}
                WHERE ${keyed()} AND concurrency_key = k.key AND scheduled_at <= ${now}::int8
                ORDER BY priority DESC, scheduled_at, id LIMIT k.room) AS first
            ) AS x
          ORDER BY x.rn, k.pos LIMIT ${need}`;
        const position = new Map(open.map((key, i) => [key.k, i]));
        let furthest = -1;
        for (const r of rows) {
          picked.push(Number(r.id));
          furthest = Math.max(furthest, position.get(r.key as string)!);
        }
        if (furthest >= 0) last = open[furthest]!.k;
      }
      if (cut >= 0 || found.length < limit) break;
    }
    if (picked.length >= slots) break;
  }
  if (last !== null && last !== cursor) {
    await db`UPDATE ${t.controls} SET key_cursor = ${last} WHERE task_type = ${taskType}`;
  }
  return picked;
}
