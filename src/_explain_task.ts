/**
 * `explain`: the reads behind the core's `explainTask`. The task first; a finished or running one
 * needs nothing more. A pending one: the controls, the running counts per type, the running tasks
 * of its type, the claims in each rate window and the worker registry (each a small read; not one
 * snapshot, so a task claimed meanwhile can show as pending with its reasons).
 *
 * @module
 */

import { explainTask, type KeyLimitUse, type TaskExplanation } from "./core/explain.ts";
import type { Engine, TypeControl } from "./engine.ts";
import type { Task } from "./task.ts";
import { TaskNotFoundError } from "./errors.ts";
import type { QueueCore } from "./_queue_core.ts";

/** How many running tasks a concurrency reason names. */
const HELD_BY = 10;

/** Why task `id` is not running now. */
export async function explainOne(
  core: QueueCore,
  engine: Engine,
  id: number,
): Promise<TaskExplanation> {
  const task = await engine.get(id);
  if (task === null) throw new TaskNotFoundError("explain", id);
  const empty = { controls: [], running: new Map(), heldBy: [], rateWindows: [], workers: [] };
  if (task.status !== "pending") return explainTask({ task, now: core.now(), ...empty });
  const [controls, live, heldBy, workers] = await Promise.all([
    engine.controls(),
    engine.liveCounts(),
    engine.runningIds(task.taskType, HELD_BY),
    engine.workers(),
  ]);
  const now = core.now();
  const rateWindows = controls.some((c) => c.rate !== null) ? await engine.rateWindows(now) : [];
  const running = new Map(
    live.filter((count) => count.status === "running").map((c) => [c.taskType, c.count]),
  );
  const keyLimit = await keyUse(engine, task, controls, now);
  return explainTask({ task, now, controls, running, heldBy, rateWindows, workers, keyLimit });
}

/** The task's concurrency key and its use, when its type has per-key limits (else `null`). */
async function keyUse(
  engine: Engine,
  task: Task,
  controls: readonly TypeControl[],
  now: number,
): Promise<KeyLimitUse | null> {
  const control = controls.find((c) => c.taskType === task.taskType);
  const key = task.concurrencyKey;
  if (key === null || !control || (!control.concurrencyPerKey && !control.ratePerKey)) return null;
  const usage = await engine.keyUsage(task.taskType, key, now);
  const rate = control.ratePerKey;
  return {
    key,
    limit: control.concurrencyPerKey,
    running: usage.running,
    heldBy: usage.heldBy,
    ...(rate
      ? {
        rate: {
          ...rate,
          used: usage.claimed,
          until: usage.oldestClaimAt === null ? null : usage.oldestClaimAt + rate.intervalMs,
        },
      }
      : {}),
  };
}
