/**
 * The chaos suite's scenarios, in the order they run.
 *
 * @module
 */

import type { Scenario } from "./_scenario.ts";
import { corrupt } from "./_scenario_corrupt.ts";
import { fuzz } from "./_scenario_fuzz.ts";
import { REMOTE_SCENARIOS } from "./_scenario_remote.ts";
import { PROCESS_SCENARIOS } from "./_scenarios_processes.ts";
import { STORAGE_SCENARIOS } from "./_scenarios_storage.ts";

/** Every scenario, in order. */
export const SCENARIOS: readonly Scenario[] = [
  ...PROCESS_SCENARIOS,
  fuzz,
  ...STORAGE_SCENARIOS,
  corrupt,
  ...REMOTE_SCENARIOS,
];
