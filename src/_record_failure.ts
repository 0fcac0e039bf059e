/**
 * Recording a failed attempt for {@linkcode TaskQueue.failTask}: the fenced read of the run's
 * retry state, the core's retry decision (`decideRetry`), the `fail` transition it hands the
 * engine as data, then the announcement and the wake-up.
 *
 * @module
 */

import { decideRetry, type FailOptions } from "./core/retry.ts";
import type { Engine, LeaseRef } from "./engine.ts";
import { TaskNotFoundError } from "./errors.ts";
import { failureMessage, withReason } from "./_failure.ts";
import { expect, refusal } from "./_outcomes.ts";
import type { QueueCore } from "./_queue_core.ts";
import { type Task, TaskStatus } from "./task.ts";

/** A failed attempt, validated. */
export interface FailedAttempt {
  /** The task as claimed (fenced by its lease), or its id (any running task). */
  ref: LeaseRef;
  /** What went wrong. */
  reason: string | Error;
  /** Skip the remaining retries, or set this retry's delay. */
  options: FailOptions;
}

/** Records the failed attempt; the task after it (pending again, or ended). */
export async function recordFailure(
  core: QueueCore,
  engine: Engine,
  { ref, reason, options }: FailedAttempt,
): Promise<Task> {
  const message = failureMessage(reason);
  // The decision needs the run's retry state; a fenced read is stable while the lease holds.
  const current = await engine.get(ref.id);
  if (!current) throw new TaskNotFoundError("fail", ref.id);
  const fence = ref.attempts ?? current.attempts;
  if (current.status !== TaskStatus.RUNNING || current.attempts !== fence) {
    const reason = ref.attempts === null ? "state" : "lease_lost";
    throw refusal({ ok: false, reason, status: current.status }, "fail", ref);
  }
  const now = core.now();
  const decision = decideRetry({
    task: current,
    error: reason,
    options,
    backoff: core.backoff,
  });
  const retryAt = decision.retry ? now + decision.delayMs : null;
  const recorded = decision.retry ? message : withReason(message, decision.reason);
  const [outcome] = await engine.apply(
    [{
      kind: "fail",
      ref: { id: ref.id, attempts: fence, known: current },
      error: recorded,
      retryAt,
    }],
    now,
  );
  // Fenced on the attempt just read: a bare id that raced another transition is a state error.
  const after = expect(
    outcome && !outcome.ok && outcome.reason === "lease_lost" && ref.attempts === null
      ? { ...outcome, reason: "state" }
      : outcome,
    "fail",
    ref,
  );
  core.announceFailure(after, recorded);
  core.wake([after], now);
  return after;
}
