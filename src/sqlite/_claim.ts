/**
 * The SQLite engine's claim, inside its write transaction: the plain claim when no type is paused
 * or limited; otherwise the counts the core's `planClaim` needs, the plan, and the claim it allows
 * (capped rounds when limited types have room, the fair claim of `_fair_claim.ts` when types with
 * per-key limits may be claimed), and the record of rate-limited claims. A claimed
 * row that cannot be decoded (its JSON does not parse) is failed for good with the reason, in the
 * same transaction, and never handed out: it does not stop the others, and the claim takes more
 * in its place.
 *
 * @module
 */

import type { ClaimRequest, TypeControl } from "../engine.ts";
import { type ClaimPlan, planClaim } from "../core/claim_plan.ts";
import type { Task } from "../task.ts";
import { claimFair } from "./_fair_claim.ts";
import { toTask, undecodable } from "./_rows.ts";
import type { Args, StatementKey, Statements } from "./_statements.ts";

const NO_COUNTS: ReadonlyMap<string, number> = new Map();

/**
 * Claims due tasks for `request` under `controls` (the `task_type_controls` rows).
 *
 * @param run The engine's statements.
 * @param request The claim.
 * @param controls Pauses and limits, read in the same transaction.
 * @returns The claimed tasks, in claim order.
 */
export function claimTasks(
  run: Statements,
  request: ClaimRequest,
  controls: readonly TypeControl[],
): Task[] {
  const tasks = controls.length === 0
    ? claimExcept(run, request, [])
    : claimPlanned(run, request, controls);
  // RETURNING does not keep the subquery's order.
  return tasks.sort(claimOrder);
}

/**
 * One claim statement: the tasks it claimed that decode, and how many rows it claimed. A row
 * that does not decode is failed for good with the reason and counted as failed.
 */
function claimRound(
  run: Statements,
  key: StatementKey,
  args: Args,
  now: number,
): { tasks: Task[]; rows: number } {
  const rows = run.all(key, args);
  const tasks: Task[] = [];
  let failed = 0;
  for (const row of rows) {
    const task = toTask(row);
    const problem = undecodable(task);
    if (problem === undefined) {
      tasks.push(task);
      continue;
    }
    failed += run.exec("failUndecodable", { id: task.id, error: problem, now });
  }
  if (failed > 0) run.exec("addCount", { status: "failed", delta: failed });
  return { tasks, rows: rows.length };
}

function claimExcept(run: Statements, request: ClaimRequest, excluded: readonly string[]): Task[] {
  const args = claimArgs(request);
  if (excluded.length > 0) args.excluded = JSON.stringify(excluded);
  const key = request.taskTypes
    ? excluded.length ? "claimTypesExcept" : "claimTypes"
    : excluded.length
    ? "claimExcept"
    : "claim";
  const claimed: Task[] = [];
  for (;;) {
    const limit = request.limit - claimed.length;
    args.limit = limit;
    const { tasks, rows } = claimRound(run, key, args, request.now);
    claimed.push(...tasks);
    // A full round with rows left out (undecodable, now failed): claim in their place.
    if (tasks.length === rows || rows < limit) return claimed;
  }
}

/** Reads the counts the plan needs, plans (in the core), claims, records rate-limited claims. */
function claimPlanned(
  run: Statements,
  request: ClaimRequest,
  controls: readonly TypeControl[],
): Task[] {
  const running = controls.some((control) => control.concurrency !== null)
    ? new Map(run.all("runningByType").map((row) => [row.task_type as string, Number(row.count)]))
    : NO_COUNTS;
  let rateUsed = NO_COUNTS;
  if (controls.some((control) => control.rate !== null || control.ratePerKey !== null)) {
    run.exec("rateForget", { now: request.now });
    rateUsed = new Map(
      run.all("rateCounts", { now: request.now })
        .map((row) => [row.task_type as string, Number(row.count)]),
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
    ? claimFair(
      run,
      request,
      plan,
      controls,
      (key, args) => claimRound(run, key, args, request.now),
      () => claimArgs(request),
    )
    : plan.quotas.length === 0
    ? claimExcept(run, request, plan.excluded)
    : claimCapped(run, request, plan);
  const rated = tasks.filter((task) => plan.rated.includes(task.taskType));
  if (rated.length > 0) {
    run.exec("rateRecord", {
      claims: JSON.stringify(rated.map((task) => [task.taskType, task.concurrencyKey])),
      now: request.now,
    });
  }
  return tasks;
}

/**
 * Claims in rounds of one capped statement: a round that fills a type's room may have left tasks
 * of other types behind it, so the next round excludes the types that filled up. Each extra round
 * fills at least one more type: at most one round per limited type, plus one.
 */
function claimCapped(run: Statements, request: ClaimRequest, plan: ClaimPlan): Task[] {
  const rooms = new Map(plan.quotas.map((quota) => [quota.taskType, quota.room]));
  const excluded = [...plan.excluded];
  const claimed: Task[] = [];
  const key = request.taskTypes ? "claimTypesCapped" : "claimCapped";
  while (claimed.length < request.limit) {
    const args = claimArgs(request);
    args.limit = request.limit - claimed.length;
    args.excluded = JSON.stringify(excluded);
    args.rooms = JSON.stringify(Object.fromEntries(rooms));
    const { tasks, rows } = claimRound(run, key, args, request.now);
    claimed.push(...tasks);
    let filled = false;
    for (const task of tasks) {
      const room = rooms.get(task.taskType);
      if (room === undefined) continue;
      if (room > 1) rooms.set(task.taskType, room - 1);
      else {
        rooms.delete(task.taskType);
        excluded.push(task.taskType);
        filled = true;
      }
    }
    // No type filled up and no row left out: nothing was held back, what is due is claimed.
    if ((!filled && tasks.length === rows) || rows === 0) break;
  }
  return claimed;
}

function claimArgs(request: ClaimRequest): Args {
  const args: Args = {
    now: request.now,
    workerId: request.workerId,
    leaseMs: request.leaseMs,
    leaseExpiresAt: request.now + request.leaseMs,
    limit: request.limit,
  };
  if (request.taskTypes) args.taskTypes = JSON.stringify(request.taskTypes);
  return args;
}

function claimOrder(a: Task, b: Task): number {
  return b.priority - a.priority || a.scheduledAt - b.scheduledAt || a.id - b.id;
}
