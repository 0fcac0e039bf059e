/**
 * The SQLite engine's fair claim, for a claim that may take types with per-key limits (inside the
 * claim's transaction, after the core's `planClaim`). Rounds as in the capped claim: a round reads
 * the first due tasks in claim order; keyless tasks (and those of types without per-key limits)
 * are claimed as read, within their type's room; the slots a keyed type's tasks took are filled by
 * rotating across that type's keys, from the key after the one the last claim ended on (the
 * type's `key_cursor`), one task per key per turn, each key within its room (`keyRoom`: its
 * per-key concurrency and rate, counted from running rows and rate events under the write lock).
 * So a key's backlog of 100,000 ahead in claim order takes one turn per key, not the whole claim.
 *
 * @module
 */

import type { ClaimRequest, KeyUsage, TypeControl } from "../engine.ts";
import type { ClaimPlan } from "../core/claim_plan.ts";
import { type Candidate, IDLE_KEY, keyRoom, splitCandidates } from "../core/key_limits.ts";
import type { Task } from "../task.ts";
import type { Args, StatementKey, Statements } from "./_statements.ts";

/** One claim statement: the tasks it claimed that decode, and how many rows it claimed. */
export type ClaimRound = (key: StatementKey, args: Args) => { tasks: Task[]; rows: number };

/**
 * Claims for `request` under `plan`, whose `keyed` types rotate across their keys.
 *
 * @param run The engine's statements.
 * @param request The claim.
 * @param plan The core's plan (`keyed` not empty).
 * @param controls The controls the plan came from.
 * @param round Runs one claim statement (`claimIds`), failing undecodable rows.
 * @param args The claim's arguments (lease, worker, time), fresh for each statement.
 * @returns The claimed tasks.
 */
export function claimFair(
  run: Statements,
  request: ClaimRequest,
  plan: ClaimPlan,
  controls: readonly TypeControl[],
  round: ClaimRound,
  args: () => Args,
): Task[] {
  const keyed = new Map(
    plan.keyed.map((type) => [type, controls.find((c) => c.taskType === type)!]),
  );
  const usage = readUsage(run, request.now, keyed);
  const rooms = new Map(plan.quotas.map((quota) => [quota.taskType, quota.room]));
  const excluded = [...plan.excluded];
  const exclude = (type: string) => {
    if (!excluded.includes(type)) excluded.push(type);
  };
  const keyedTypes = new Set(keyed.keys());
  const statement = request.taskTypes ? "fairCandidatesTypes" : "fairCandidates";
  const claimed: Task[] = [];
  while (claimed.length < request.limit) {
    // Every type the claim wants is excluded: no round can find more (and none walks a backlog).
    if (request.taskTypes?.every((type) => excluded.includes(type))) break;
    const want = request.limit - claimed.length;
    const read = args();
    read.limit = want;
    read.excluded = JSON.stringify(excluded);
    const rows = run.all(statement, read).map((row): Candidate => ({
      id: row.id as number,
      taskType: row.task_type as string,
      concurrencyKey: row.concurrency_key as string | null,
    }));
    if (rows.length === 0) break;
    const split = splitCandidates(rows, rooms, keyedTypes);
    let heldBack = split.filled.length > 0;
    split.filled.forEach(exclude);
    const ids = [...split.plain];
    for (const [type, slots] of split.slots) {
      const picked = pickFair(run, request.now, keyed.get(type)!, usage.get(type)!, slots);
      // Fewer than its slots: its keys are at their limits or drained; the rest is of other types.
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
    const write = args();
    write.ids = JSON.stringify(ids);
    const { tasks } = round("claimIds", write);
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
    // Nothing held back and nothing left out: what is due is claimed (or the claim is full).
    if (!heldBack && tasks.length === rows.length) break;
  }
  return claimed;
}

/** Running tasks and claims in the window per key, for each keyed type. */
function readUsage(
  run: Statements,
  now: number,
  keyed: ReadonlyMap<string, TypeControl>,
): Map<string, Map<string, KeyUsage>> {
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
    const types = JSON.stringify(counted.map((c) => c.taskType));
    for (const row of run.all("runningByKey", { types })) {
      const found = entry(row.task_type as string, row.concurrency_key as string);
      if (found) found.running = Number(row.count);
    }
  }
  if ([...keyed.values()].some((c) => c.ratePerKey !== null)) {
    for (const row of run.all("rateCountsByKey", { now })) {
      const found = entry(row.task_type as string, row.concurrency_key as string);
      if (found) found.claimed = Number(row.count);
    }
  }
  return usage;
}

/**
 * Up to `slots` due keyed tasks of `control`'s type, by rotation: keys after the type's cursor,
 * then from the first key round to the cursor; rank by rank (each key's first task, then each
 * key's second …), each key within its room. Moves the cursor to the last key that got a task.
 */
function pickFair(
  run: Statements,
  now: number,
  control: TypeControl,
  usage: Map<string, KeyUsage>,
  slots: number,
): number[] {
  const taskType = control.taskType;
  const cursor = (run.get("keyCursor", { taskType })?.key_cursor ?? null) as string | null;
  const passes: [string, string | null][] = cursor === null
    ? [["", null]]
    : [[cursor, null], ["", cursor]];
  const picked: number[] = [];
  let last: string | null = null;
  for (const [after, until] of passes) {
    let from = after;
    while (picked.length < slots) {
      const need = slots - picked.length;
      const limit = need;
      const found = run.all("nextKeys", { taskType, after: from, limit }).map((r) =>
        r.key as string
      );
      if (found.length === 0) break;
      from = found[found.length - 1]!;
      const cut = until === null ? -1 : found.findIndex((key) => key > until);
      const keys = cut < 0 ? found : found.slice(0, cut);
      const open = keys
        .map((k) => ({ k, r: keyRoom(control, usage.get(k) ?? IDLE_KEY, need) }))
        .filter((key) => key.r > 0);
      if (open.length > 0) {
        const { ids, furthest } = roundRobin(run, taskType, now, open, need);
        picked.push(...ids);
        if (furthest >= 0) last = open[furthest]!.k;
      }
      if (cut >= 0 || found.length < limit) break;
    }
    if (picked.length >= slots) break;
  }
  if (last !== null && last !== cursor) run.exec("setKeyCursor", { taskType, cursor: last });
  return picked;
}

/**
 * Up to `need` due tasks of `keys` (in rotation order, each with its room), rank by rank: each
 * key's first task, then each key's second … Two seeks per key at most: its first task, then (if
 * the first ranks left room) its next ones. Returns the ids and the furthest key position served.
 */
function roundRobin(
  run: Statements,
  taskType: string,
  now: number,
  keys: readonly { k: string; r: number }[],
  need: number,
): { ids: number[]; furthest: number } {
  const head = (i: number, limit: number, offset: number) =>
    run.all("keyHead", { taskType, concurrencyKey: keys[i]!.k, now, limit, offset })
      .map((row) => row.id as number);
  const ranks: number[][] = [];
  let firsts = 0;
  for (let i = 0; i < keys.length && firsts < need; i++) {
    ranks.push(head(i, 1, 0));
    firsts += ranks[i]!.length;
  }
  const left = need - firsts;
  if (left > 0) {
    for (let i = 0; i < ranks.length; i++) {
      if (ranks[i]!.length === 1 && keys[i]!.r > 1) {
        ranks[i]!.push(...head(i, Math.min(keys[i]!.r - 1, left), 1));
      }
    }
  }
  const ids: number[] = [];
  let furthest = -1;
  for (let rank = 0; ids.length < need; rank++) {
    let any = false;
    for (let i = 0; i < ranks.length && ids.length < need; i++) {
      const id = ranks[i]![rank];
      if (id === undefined) continue;
      any = true;
      ids.push(id);
      furthest = Math.max(furthest, i);
    }
    if (!any) break;
  }
  return { ids, furthest };
}
