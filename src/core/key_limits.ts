/**
 * Limits per concurrency key, and the split of a claim between keyed and plain tasks: which
 * types have per-key limits, how many tasks a key may still start (from the counts an engine
 * read under its write lock), and which of a round's candidates the engine claims as they are
 * and how many slots it fills by rotating across keys instead. Pure arithmetic.
 *
 * @module
 */

import type { KeyUsage, TypeControl } from "../engine.ts";

/** No running task and no claim in the window: a key nothing was counted for. */
export const IDLE_KEY: KeyUsage = { running: 0, heldBy: [], claimed: 0, oldestClaimAt: null };

/** Whether a control limits its type per concurrency key (so its claims rotate across keys). */
export function hasKeyLimits(control: TypeControl): boolean {
  return control.concurrencyPerKey !== null || control.ratePerKey !== null;
}

/**
 * How many more tasks of one key a claim may start: at most `limit`, less what its per-key
 * concurrency and rate limits leave (0 when the key is at its limit). `explain()` reads "its key
 * at its limit" as a room of 0 for a limit of 1.
 *
 * @example Usage
 * ```ts ignore
 * const control = { taskType: "sync", pausedAt: null, concurrency: null, rate: null,
 *   concurrencyPerKey: 2, ratePerKey: null };
 * keyRoom(control, { running: 1, claimed: 0 }, 10); // 1
 * keyRoom(control, { running: 2, claimed: 0 }, 10); // 0: at its limit
 * ```
 *
 * @param control The key's task type's control.
 * @param usage The key's running tasks and its claims inside the per-key rate window.
 * @param limit The most the claim takes.
 * @returns The room, 0 or more.
 */
export function keyRoom(
  control: TypeControl,
  usage: Pick<KeyUsage, "running" | "claimed">,
  limit: number,
): number {
  let room = limit;
  if (control.concurrencyPerKey !== null) {
    room = Math.min(room, control.concurrencyPerKey - usage.running);
  }
  if (control.ratePerKey !== null) room = Math.min(room, control.ratePerKey.max - usage.claimed);
  return Math.max(0, room);
}

/** A due pending task a claim round read, in claim order. */
export interface Candidate {
  /** The task id. */
  id: number;
  /** Its type. */
  taskType: string;
  /** Its concurrency key, or `null`. */
  concurrencyKey: string | null;
}

/** What a round claims: plain ids, and slots per keyed type that the rotation fills. */
export interface CandidateSplit {
  /** Ids to claim as they are (keyless, or of a type without per-key limits). */
  plain: number[];
  /** Per keyed type, how many of its keyed tasks the round takes (picked by rotation). */
  slots: Map<string, number>;
  /** Types whose room (a per-type quota) this round filled: tasks of theirs were left behind. */
  filled: string[];
}

/**
 * Splits a round's candidates: each takes a slot of its type's room (`rooms`: per-type quotas;
 * a type without one has no cap); a candidate past its type's room is left, and its type filled.
 * A keyed task of a keyed type gives its type a slot, which the engine fills by rotating across
 * that type's keys (so a key's backlog ahead in claim order takes one turn, not every slot).
 *
 * @example Usage
 * ```ts ignore
 * splitCandidates([{ id: 1, taskType: "t", concurrencyKey: "a" }, { id: 2, taskType: "u",
 *   concurrencyKey: null }], new Map(), new Set(["t"]));
 * // { plain: [2], slots: Map { "t" => 1 }, filled: [] }
 * ```
 *
 * @param candidates The round's due tasks, in claim order.
 * @param rooms The room of each type with a per-type limit.
 * @param keyed The types with per-key limits.
 * @returns The split.
 */
export function splitCandidates(
  candidates: readonly Candidate[],
  rooms: ReadonlyMap<string, number>,
  keyed: ReadonlySet<string>,
): CandidateSplit {
  const plain: number[] = [];
  const slots = new Map<string, number>();
  const taken = new Map<string, number>();
  const filled = new Set<string>();
  for (const { id, taskType, concurrencyKey } of candidates) {
    const room = rooms.get(taskType);
    const used = taken.get(taskType) ?? 0;
    if (room !== undefined && used >= room) {
      filled.add(taskType);
      continue;
    }
    taken.set(taskType, used + 1);
    if (concurrencyKey !== null && keyed.has(taskType)) {
      slots.set(taskType, (slots.get(taskType) ?? 0) + 1);
    } else plain.push(id);
  }
  return { plain, slots, filled: [...filled] };
}
