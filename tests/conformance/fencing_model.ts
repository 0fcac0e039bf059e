/**
 * Conformance: lease fencing under random interleavings, as a model-based property test
 * (fast-check `commands` and `asyncModelRun`). Three simulated workers claim, heartbeat, complete,
 * fail and release through the claimed `Task` copies they keep (stale ones included), while tasks
 * are enqueued, cancelled and redriven, leases are recovered (by a dequeue or `recover()`) and a
 * fake clock moves. A model tracks each task's status, attempts, retries, due time, lease holder and
 * lease expiry, and after every command the queue must agree with it:
 *
 * - a holder whose claim is no longer current (re-claimed, recovered, released, finished: its
 *   `attempts` is not the task's, or the task is not running) gets `LeaseLostError` and changes
 *   nothing; the current holder always succeeds, even past its lease's expiry as long as no one
 *   took the task over (the documented rule: fencing is by takeover, not by wall time);
 * - a claim never returns a task whose lease is still valid, and returns exactly the due tasks in
 *   claim order (priority, due time, id);
 * - `getQueueStats()` matches the model, every task reads back as modelled, and every enqueued id
 *   is listed under exactly one status.
 *
 * Where the queue's policy decides a value (a retry's backoff, a recovered task's due time), the
 * model takes it from the queue and checks only its bounds, so that the policy can change without
 * breaking the model. Runs are bounded and seeded (a fixed seed); a failure's report ends with the
 * environment that replays it (`TASKLITE_MODEL_SEED`, `TASKLITE_MODEL_PATH`,
 * `TASKLITE_MODEL_REPLAY`), and `TASKLITE_MODEL_RUNS` widens a run.
 *
 * @module
 */

import process from "node:process";
import fc from "fast-check";
import { FakeClock } from "../_helpers.ts";
import { commandArbitraries, enqueueCommand } from "./_fencing_commands.ts";
import type { Model } from "./_fencing_model.ts";
import type { Harness, Suite } from "./_harness.ts";

/** At most this many tasks are enqueued before the random commands start (part of the run's budget). */
const BACKLOG = 4;

/** How many runs, of how many commands at most, from which seed (fixed unless replaying). */
export interface FencingModelOptions {
  /** @default {100} */
  numRuns?: number;
  /** Commands per run, the initial enqueues included. @default {30} */
  maxCommands?: number;
  /** @default {9} */
  seed?: number;
}

/** A failure to replay: the `path` and the commands' `replayPath` from its report. */
interface Replay {
  path: string;
  replayPath: string | undefined;
}

/** The options, with the environment's settings on top (to replay a failure, or to run more). */
function settings(options: FencingModelOptions) {
  const env = (name: string) => process.env[name] || undefined;
  const number = (name: string, fallback: number) => Number(env(name) ?? fallback);
  const path = env("TASKLITE_MODEL_PATH");
  const replay: Replay | undefined = path === undefined
    ? undefined
    : { path, replayPath: env("TASKLITE_MODEL_REPLAY") };
  return {
    numRuns: number("TASKLITE_MODEL_RUNS", options.numRuns ?? 100),
    maxCommands: options.maxCommands ?? 30,
    seed: number("TASKLITE_MODEL_SEED", options.seed ?? 9),
    replay,
  };
}

/** The environment that replays a failure. */
function replayHint(
  details: { seed: number; counterexample: unknown[] | null; counterexamplePath: string | null },
): string {
  const commands = String(details.counterexample?.[1] ?? "");
  const replayPath = /replayPath="([^"]*)"/.exec(commands)?.[1];
  return `replay: TASKLITE_MODEL_SEED=${details.seed} TASKLITE_MODEL_PATH='${
    details.counterexamplePath ?? ""
  }'${replayPath === undefined ? "" : ` TASKLITE_MODEL_REPLAY='${replayPath}'`}`;
}

/**
 * Runs the model-based fencing property on the engine of `h`: each run opens fresh storage on its
 * own fake clock and closes it afterwards. A failure reports the seed, the path and the shrunk
 * command list (fast-check's report), and how to replay it.
 *
 * @param h The test's harness.
 * @param options Runs, commands per run, seed.
 */
export async function checkFencingModel(
  h: Harness,
  options: FencingModelOptions = {},
): Promise<void> {
  const { numRuns, maxCommands, seed, replay } = settings(options);
  const property = fc.asyncProperty(
    fc.array(enqueueCommand(), { minLength: 1, maxLength: BACKLOG }),
    fc.commands(commandArbitraries(), {
      maxCommands: maxCommands - BACKLOG,
      size: "max",
      ...(replay?.replayPath === undefined ? {} : { replayPath: replay.replayPath }),
    }),
    async (backlog, commands) => {
      const clock = new FakeClock();
      const queue = await h.open({ clock: clock.fn });
      try {
        const model: Model = { tasks: [], claims: [], now: clock.now };
        const real = { queue, clock };
        for (const enqueue of backlog) await enqueue.run(model, real);
        await fc.asyncModelRun(() => ({ model, real }), commands);
      } finally {
        await queue.close();
      }
    },
  );
  const details = await fc.check(property, {
    numRuns,
    seed,
    ...(replay === undefined ? {} : { path: replay.path }),
  });
  if (details.failed) {
    throw new Error(`${fc.defaultReportMessage(details)}\n${replayHint(details)}`, {
      cause: details.errorInstance,
    });
  }
}

/** Registers the model-based fencing case. */
export function fencingModel(suite: Suite): void {
  suite.test(
    "random interleavings of claims, heartbeats, transitions, recovery and clock steps stay fenced",
    (h) => checkFencingModel(h),
  );
}
