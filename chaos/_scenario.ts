/**
 * What a chaos scenario is (an id, a title, a `run` that returns its counters) and what the
 * scenarios share: a scenario folder, the parent's own recorded enqueues, the clean drain, and the
 * verdict from the histories plus the file's final state.
 *
 * @module
 */

import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeName } from "../bench/_runtime.ts";
import { type EnqueueOptions, TaskQueue } from "../mod.ts";
import { finalState, readHistories } from "./_db.ts";
import { analyze, type AnalyzeOptions, type Counts } from "./_history.ts";
import { Recorder } from "./_recording.ts";
import { type Child, startChild, waitChild } from "./_spawn.ts";
import type { WorkerSpec } from "./_child.ts";

/** What a scenario gets. */
export interface ScenarioContext {
  /** Its own folder (inside the run's temp folder). */
  dir: string;
  /** Quick mode: small N, fewer rounds. */
  quick: boolean;
  /** The runtimes child processes may use (this one first). */
  runtimes: RuntimeName[];
}

/** What a scenario found. */
export interface ScenarioResult {
  /** The runtimes its processes ran on. */
  runtimes: string;
  /** The history counters. */
  counts: Counts;
  /** Integrity problems (integrity_check, row invariants). */
  integrity: number;
  /** What else it saw. */
  notes: string[];
  /** Guarantees broken beyond the counters (each must be empty). */
  violations: string[];
  /** Counters that must be 0 here besides lost, duplicated, stale accepted and integrity. */
  alsoZero?: readonly (keyof Counts)[];
  /** Set when it could not run at all. */
  skipped?: string;
}

/** A scenario. */
export interface Scenario {
  /** Its id, for `--only`. */
  id: string;
  /** Its title in the table. */
  title: string;
  /** Full mode only (or `--only`). */
  fullOnly?: boolean;
  /** Runs it. */
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** The queue file and history folder of a scenario, the file created (migrated) already. */
export async function prepare(ctx: ScenarioContext): Promise<{ path: string; history: string }> {
  const path = join(ctx.dir, "queue.db");
  const history = join(ctx.dir, "history");
  mkdirSync(history, { recursive: true });
  const queue = await TaskQueue.open(path);
  await queue.close();
  return { path, history };
}

/** Enqueues `tasks` from this process, each recorded once acknowledged; returns the ids. */
export async function enqueueRecorded(
  path: string,
  history: string,
  tasks: readonly EnqueueOptions[],
): Promise<number[]> {
  const recorder = new Recorder(join(history, "parent.jsonl"));
  const queue = await TaskQueue.open(path);
  try {
    const ids: number[] = [];
    for (const [i, task] of tasks.entries()) {
      const id = await recorder.call(
        { op: "enqueue", key: `parent-${i}`, name: task.name },
        () => queue.enqueue(task),
        (id) => ({ id }),
      );
      ids.push(id);
    }
    return ids;
  } finally {
    await queue.close();
  }
}

/** A worker child's spec for a clean drain. */
const DRAIN: WorkerSpec = { concurrency: 16, leaseMs: 2000, handlerMs: [0, 5], drain: true };

/** Runs a clean worker on `runtime` until nothing is pending or running (at most `ms`). */
export async function drain(
  runtime: RuntimeName,
  path: string,
  history: string,
  ms: number,
  spec: Partial<WorkerSpec> = {},
): Promise<{ ok: boolean; child: Child }> {
  const child = startChild(runtime, "worker", [
    path,
    join(history, `drain-${Date.now()}.jsonl`),
    JSON.stringify({ ...DRAIN, ...spec }),
  ]);
  const ok = await waitChild(child, ms);
  return { ok, child };
}

/** The verdict: histories of `history` against the final state of `path`. */
export async function verdict(
  path: string,
  history: string,
  options: AnalyzeOptions = {},
): Promise<{ counts: Counts; integrity: number; problems: string[] }> {
  const events = readHistories(history);
  const state = await finalState(path);
  const counts = analyze(events, state.rows, options);
  return { counts, integrity: state.problems.length, problems: state.problems };
}

/** Size of a file, 0 when absent. */
export function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** Creates an empty marker file. */
export function touch(path: string): void {
  writeFileSync(path, "");
}

/** The first problems, for a note. */
export function firstProblems(problems: readonly string[], n = 2): string[] {
  return problems.length ? [`integrity: ${problems.slice(0, n).join("; ")}`] : [];
}
