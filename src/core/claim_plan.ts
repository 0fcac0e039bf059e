/**
 * The claim plan: which task types a claim may take and how many of each, given the pause flags
 * and limits stored with the queue and the counts an engine read under its write lock. Pure
 * arithmetic; engines run the plan as one claim statement.
 *
 * @module
 */

import type { TypeControl } from "../engine.ts";
import { hasKeyLimits } from "./key_limits.ts";

/** What a claim plan is computed from. */
export interface ClaimPlanInput {
  /** Every pause flag and limit. */
  controls: readonly TypeControl[];
  /** Running tasks per type (needed only when some type has a concurrency limit). */
  running: ReadonlyMap<string, number>;
  /** Claims per type inside each rate-limited type's window. */
  rateUsed: ReadonlyMap<string, number>;
  /** The claim's own restriction to some task types, or `null` for any. */
  taskTypes: readonly string[] | null;
  /** The most tasks the claim takes. */
  limit: number;
}

/**
 * How to claim: nothing at all, or any type but `excluded`, taking at most `room` of each quota
 * type.
 */
export interface ClaimPlan {
  /** The whole queue is paused: claim nothing. */
  blocked: boolean;
  /** Types not to claim: paused ones and limited ones without room. */
  excluded: string[];
  /** Limited types with room left, and how many of each the claim may take. */
  quotas: { taskType: string; room: number }[];
  /** Types whose claims count against a rate limit (each claim is recorded). */
  rated: string[];
  /**
   * Types with per-key limits that the claim may take (not paused, with room): their keyed tasks
   * are claimed fairly, rotating across keys, each key within its own room (`keyRoom`).
   */
  keyed: string[];
}

/** Whether a control limits its type (so that the engine must count before claiming). */
export function isLimited(control: TypeControl): boolean {
  return control.concurrency !== null || control.rate !== null || hasKeyLimits(control);
}

/**
 * Plans a claim around pauses and limits.
 *
 * @example Usage
 * ```ts ignore
 * const plan = planClaim({
 *   controls: [{ taskType: "api", pausedAt: null, concurrency: 2, rate: null }],
 *   running: new Map([["api", 1]]),
 *   rateUsed: new Map(),
 *   taskTypes: null,
 *   limit: 10,
 * });
 * // { blocked: false, excluded: [], quotas: [{ taskType: "api", room: 1 }], rated: [], keyed: [] }
 * ```
 *
 * @param input The controls, the counts and the request.
 * @returns The plan.
 */
export function planClaim(input: ClaimPlanInput): ClaimPlan {
  const { controls, running, rateUsed, taskTypes, limit } = input;
  const blocked = controls.some((c) => c.taskType === "*" && c.pausedAt !== null);
  const excluded: string[] = [];
  const quotas: { taskType: string; room: number }[] = [];
  const rated: string[] = [];
  const keyed: string[] = [];
  for (const control of controls) {
    if (control.taskType === "*") continue;
    if (control.rate !== null || control.ratePerKey !== null) rated.push(control.taskType);
    if (control.pausedAt !== null) {
      excluded.push(control.taskType);
      continue;
    }
    const wanted = taskTypes === null || taskTypes.includes(control.taskType);
    const perKey = hasKeyLimits(control) && wanted;
    if (control.concurrency === null && control.rate === null) {
      if (perKey) keyed.push(control.taskType);
      continue;
    }
    let room = limit;
    if (control.concurrency !== null) {
      room = Math.min(room, control.concurrency - (running.get(control.taskType) ?? 0));
    }
    if (control.rate !== null) {
      room = Math.min(room, control.rate.max - (rateUsed.get(control.taskType) ?? 0));
    }
    if (room > 0 && wanted) {
      quotas.push({ taskType: control.taskType, room });
      if (perKey) keyed.push(control.taskType);
    } else excluded.push(control.taskType);
  }
  return { blocked, excluded, quotas, rated, keyed };
}
