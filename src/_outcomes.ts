/**
 * From a caller's task reference to an engine's {@linkcode LeaseRef}, and from an engine's
 * {@linkcode Outcome} back to a task or a named error.
 *
 * @module
 */

import type { LeaseRef, Outcome } from "./engine.ts";
import { LeaseLostError, TaskNotFoundError, TaskStateError } from "./errors.ts";
import type { TaskRef } from "./queue_options.ts";
import type { Task } from "./task.ts";
import { parse, TaskRefSchema } from "./_validation.ts";

/** Validates a task reference: a claimed task is fenced by its `attempts`, a bare id is not. */
export function toRef(task: TaskRef, what = "task"): LeaseRef {
  // A task as the queue returned it (the worker's case) is checked without valibot.
  if (typeof task === "object" && task !== null) {
    const { id, attempts } = task as Partial<Task>;
    if (isCount(id, 1) && isCount(attempts, 0)) return { id, attempts };
  } else if (isCount(task, 1)) return { id: task, attempts: null };
  const ref = parse(TaskRefSchema, task, what);
  return typeof ref === "number"
    ? { id: ref, attempts: null }
    : { id: ref.id, attempts: ref.attempts };
}

/** An integer from `min` to `Number.MAX_SAFE_INTEGER`, as `TaskRefSchema` has it. */
function isCount(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min;
}

/** The named error for an outcome that did not apply. */
export function refusal(outcome: Outcome & { ok: false }, action: string, ref: LeaseRef): Error {
  switch (outcome.reason) {
    case "missing":
      return new TaskNotFoundError(action, ref.id);
    case "lease_lost":
      return new LeaseLostError(
        action,
        ref.id,
        `lease lost (attempt ${ref.attempts} is no longer current; the task is ${outcome.status})`,
      );
    case "conflict":
      return new TaskStateError(
        action,
        ref.id,
        outcome.status,
        "another pending or running task holds its uniqueKey",
      );
    case "state":
      return new TaskStateError(action, ref.id, outcome.status);
  }
}

/** The task an outcome carries, or its named error thrown. */
export function expect(outcome: Outcome | undefined, action: string, ref: LeaseRef): Task {
  if (!outcome) throw new Error(`Cannot ${action} task ${ref.id}: the engine returned no outcome`);
  if (outcome.ok) return outcome.task;
  throw refusal(outcome, action, ref);
}
