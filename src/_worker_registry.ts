/**
 * The worker registry as the queue runs it: a registration (or its beat) stamped with the queue's
 * clock, the list with each worker's liveness, and the early recovery of dead workers' leases (the
 * core decides who is dead: `isWorkerAlive`; the engine ends their leases, fenced like recovery,
 * and the usual recovery puts the tasks back).
 *
 * @module
 */

import type { Engine } from "./engine.ts";
import { isWorkerAlive, WORKER_FORGET_AFTER_MS } from "./core/recovery.ts";
import type { QueueCore } from "./_queue_core.ts";
import type { WorkerInfo, WorkerRegistration } from "./queue_options.ts";
import { parse, WorkerRegistrationSchema } from "./_validation.ts";

/** Records a worker (or its beat) at the queue's now. */
export async function registerWorker(
  core: QueueCore,
  engine: Engine,
  registration: WorkerRegistration,
): Promise<void> {
  const worker = parse(WorkerRegistrationSchema, registration, "worker registration");
  await engine.upsertWorker({
    ...worker,
    taskTypes: worker.taskTypes === null ? null : [...worker.taskTypes],
    heartbeatAt: core.now(),
  });
}

/** Every registered worker, marked alive or dead. */
export async function listWorkers(core: QueueCore, engine: Engine): Promise<WorkerInfo[]> {
  const now = core.now();
  return (await engine.workers()).map((worker) => ({
    ...worker,
    alive: isWorkerAlive(worker, now),
  }));
}

/**
 * Ends the leases of dead workers now and recovers them (announced like any recovery); forgets
 * workers dead for longer than `WORKER_FORGET_AFTER_MS`. Reads the (small) registry only, and
 * writes nothing while every worker is alive.
 *
 * @returns How many tasks it recovered.
 */
export async function recoverDeadWorkers(core: QueueCore, engine: Engine): Promise<number> {
  const now = core.now();
  const workers = await engine.workers();
  const dead = workers.filter((worker) => !isWorkerAlive(worker, now)).map((w) => w.id);
  if (dead.length === 0) return 0;
  const ended = await engine.expireWorkers(dead, now, now - WORKER_FORGET_AFTER_MS);
  if (ended === 0) return 0;
  const recovered = await engine.recover(now, core.recovery);
  core.announceRecovered(recovered, now);
  return recovered.length;
}
