/**
 * The SQLite engine's recovery of expired leases, inside its write transaction: read the running
 * tasks whose lease ran out (one index seek, nothing found on the hot path), ask the core what
 * follows each ({@linkcode RecoveryDecision}), and apply each answer fenced by the lease that
 * expired.
 *
 * @module
 */

import type { RecoveryDecision } from "../engine.ts";
import type { Task } from "../task.ts";
import { toTask, withChanges } from "./_rows.ts";
import type { Statements } from "./_statements.ts";

/**
 * Puts back the running tasks whose lease expired at or before `now`, as `decide` says.
 *
 * @param run The engine's statements.
 * @param now Now, epoch ms.
 * @param decide The core's decision for each expired lease.
 * @returns The recovered tasks (pending, failed or cancelled), in lease expiry order.
 */
export function recoverExpired(run: Statements, now: number, decide: RecoveryDecision): Task[] {
  const expired = run.all("expired", { now });
  if (expired.length === 0) return [];
  const recovered: Task[] = [];
  for (const task of expired.map(toTask).sort(byExpiry)) {
    const retryAt = decide(task, now);
    const row = run.get("recover", { id: task.id, attempts: task.attempts, retryAt, now });
    if (row) recovered.push(withChanges(task, row));
  }
  return recovered;
}

function byExpiry(a: Task, b: Task): number {
  return a.leaseExpiresAt! - b.leaseExpiresAt! || a.id - b.id;
}
