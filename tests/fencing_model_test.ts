/**
 * The model-based fencing property (`tests/conformance/fencing_model.ts`), run deeper than the
 * conformance suite runs it: more runs from another seed, on a fresh `:memory:` database per run,
 * for the runtime's SQLite bindings (node:sqlite, and bun:sqlite on Bun). The conformance suite
 * runs the same property for every engine on files, the Durable Object driver included.
 *
 * Replay a failure with the seed and path from its report:
 * `TASKLITE_MODEL_SEED=… TASKLITE_MODEL_PATH=… deno test -A tests/fencing_model_test.ts`;
 * widen it with `TASKLITE_MODEL_RUNS=2000`.
 */

import { describe, test } from "node:test";
import { TaskQueue } from "../mod.ts";
import { checkFencingModel } from "./conformance/fencing_model.ts";
import { type ConformanceEngine, Harness } from "./conformance/mod.ts";
import { RUNTIME } from "./_helpers.ts";

/** An engine on `:memory:` databases: a fresh one per queue, gone when it closes. */
function inMemory(driver: "node:sqlite" | "bun:sqlite"): ConformanceEngine {
  return {
    name: `${driver} (:memory:)`,
    open: (options = {}) => TaskQueue.open(":memory:", { ...options, driver }),
  };
}

const DRIVERS = RUNTIME === "bun"
  ? ["node:sqlite", "bun:sqlite"] as const
  : ["node:sqlite"] as const;
if (RUNTIME !== "bun") {
  const reason = `engine bun:sqlite: needs the Bun runtime (running on ${RUNTIME})`;
  console.log(`SKIP fencing model: ${reason}`);
  test("fencing model: bun:sqlite", { skip: reason }, () => {});
}

for (const driver of DRIVERS) {
  describe(`fencing model: ${driver}`, () => {
    test("200 runs of up to 30 commands stay fenced and account for every task", async () => {
      const h = new Harness(inMemory(driver));
      try {
        await checkFencingModel(h, { numRuns: 200, seed: 20261201 });
      } finally {
        await h.dispose();
      }
    });
  });
}
