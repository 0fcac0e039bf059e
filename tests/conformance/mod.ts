/**
 * The conformance suite: the behaviour every storage engine must show through the public
 * `TaskQueue` API (ordering, scheduling, leases and fencing, recovery, clocks, retries, cancel and
 * redrive, unique keys, limits and pauses, limits per key and fairness, schedules, events, wake-ups, batch transitions, persistence, bad input), written once and run once
 * per engine, as Hono runs one router suite per router and Oban one engine suite per engine.
 *
 * Every test runs on a fake clock with jitter-free backoff, so every time and delay is exact; none
 * sleeps. Each opens fresh storage through the engine and closes what it opened.
 *
 * @example Running the suite for an engine
 * ```ts ignore
 * import { runConformance } from "./conformance/mod.ts";
 * import { TaskQueue } from "../mod.ts";
 *
 * runConformance({
 *   name: "node:sqlite (:memory:)",
 *   open: (options) => TaskQueue.open(":memory:", options),
 *   skip: { "a slot fires once when two connections run the schedules": "no second connection" },
 * });
 * ```
 *
 * @module
 */

import { describe } from "node:test";
import { type CaseFile, caseNames, type ConformanceEngine, nodeTestSuite } from "./_harness.ts";
import { batches } from "./batches.ts";
import { clocks } from "./clocks.ts";
import { cancelRedrive } from "./cancel_redrive.ts";
import { dataIntegrity } from "./data_integrity.ts";
import { events } from "./events.ts";
import { fencingModel } from "./fencing_model.ts";
import { finding } from "./finding.ts";
import { history } from "./history.ts";
import { leases } from "./leases.ts";
import { keyedLimits } from "./keyed_limits.ts";
import { limitsPauses } from "./limits_pauses.ts";
import { ordering } from "./ordering.ts";
import { persistence } from "./persistence.ts";
import { recovery } from "./recovery.ts";
import { results } from "./results.ts";
import { retries } from "./retries.ts";
import { schedules } from "./schedules.ts";
import { statsRetention } from "./stats_retention.ts";
import { uniqueKeys } from "./unique_keys.ts";
import { validation } from "./validation.ts";
import { wake } from "./wake.ts";
import { explain } from "./explain.ts";
import { waitFor } from "./wait_for.ts";
import { workerRegistry } from "./worker_registry.ts";

export type { CaseOptions, ConformanceEngine, Suite } from "./_harness.ts";
export { Harness } from "./_harness.ts";

/** The case files, by concept, in the order they run. */
export const CASE_FILES: readonly (readonly [string, CaseFile])[] = [
  ["ordering and claims", ordering],
  ["leases and fencing", leases],
  ["fencing under random interleavings", fencingModel],
  ["recovery of expired leases", recovery],
  ["clocks", clocks],
  ["retries", retries],
  ["cancel and redrive", cancelRedrive],
  ["unique keys", uniqueKeys],
  ["limits and pauses", limitsPauses],
  ["limits per concurrency key, fair claims", keyedLimits],
  ["schedules", schedules],
  ["events", events],
  ["wake-ups", wake],
  ["stats, metrics and retention", statsRetention],
  ["history", history],
  ["finding tasks and acting on them", finding],
  ["batch transitions", batches],
  ["persistence", persistence],
  ["task results", results],
  ["bad input", validation],
  ["data integrity", dataIntegrity],
  ["explain", explain],
  ["worker registry", workerRegistry],
  ["waitFor", waitFor],
];

/**
 * Every test name of the suite. Names are unique: they are the keys of
 * {@linkcode ConformanceEngine.skip}.
 */
export function conformanceTestNames(): string[] {
  const probe: ConformanceEngine = { name: "probe", open: () => Promise.reject() };
  return CASE_FILES.flatMap(([, file]) => caseNames(file, probe));
}

/**
 * Registers the whole suite for one engine under `describe(engine.name)`. Throws at once when
 * two tests share a name or when `engine.skip` names a test that does not exist, so that a skip
 * list cannot silently outlive its test.
 *
 * @param engine The engine.
 */
export function runConformance(engine: ConformanceEngine): void {
  const names = conformanceTestNames();
  const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
  if (duplicates.length > 0) {
    throw new Error(`Conformance test names must be unique: ${duplicates.join(", ")}`);
  }
  const unknown = Object.keys(engine.skip ?? {}).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new Error(`engine ${engine.name} skips tests that do not exist: ${unknown.join(", ")}`);
  }
  describe(`conformance: ${engine.name}`, () => {
    const suite = nodeTestSuite(engine);
    for (const [title, file] of CASE_FILES) describe(title, () => file(suite));
  });
}
