// The history's pure parts (src/core/buckets.ts): bins, quantiles, and the tally a transaction
// writes (grouped, sorted so that concurrent upserts lock rows in one order).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { binOf, BucketTally, HISTOGRAM_BINS, quantile } from "../src/core/buckets.ts";
import type { Task } from "../mod.ts";

const task = (
  taskType: string,
  status: Task["status"],
  startedAt: number | null,
): Task => ({ taskType, status, startedAt, scheduledAt: 0, failedAt: null } as unknown as Task);

describe("history buckets", () => {
  test("bins are log2 and bounded; quantiles land within a factor of 2", () => {
    assert.deepEqual([binOf(-5), binOf(0), binOf(0.5), binOf(1), binOf(2), binOf(1023)], [
      0,
      0,
      0,
      1,
      2,
      10,
    ]);
    assert.equal(binOf(1e15), HISTOGRAM_BINS - 1);
    const bins = new Array(HISTOGRAM_BINS).fill(0);
    for (let ms = 1; ms <= 1000; ms++) bins[binOf(ms)]++;
    for (const [q, exact] of [[0.5, 500], [0.9, 900], [0.99, 990]] as const) {
      const estimate = quantile(bins, q)!;
      assert.ok(estimate >= exact / 2 && estimate <= exact * 2, `${q}: ${estimate}`);
    }
    assert.equal(quantile(new Array(HISTOGRAM_BINS).fill(0), 0.5), null);
  });

  test("a tally groups by minute, type and outcome, sorted, and clears on take", () => {
    const tally = new BucketTally();
    tally.add(task("b", "completed", 60_000), 120_500, true);
    tally.add(task("a", "failed", 60_000), 120_700, true);
    tally.add(task("a", "completed", 60_000), 60_900, true);
    tally.add(task("a", "completed", 0), 61_000, true);
    tally.add(task("a", "pending", 0), 61_000, false); // no attempt ended
    tally.add(task("a", "cancelled", null), 61_000, false);
    const rows = tally.take();
    assert.deepEqual(
      rows.map((r) => [r.minute, r.taskType, r.kind, r.count]),
      [
        [120_000, "a", "dead", 1],
        [120_000, "b", "completed", 1],
        [60_000, "a", "cancelled", 1],
        [60_000, "a", "completed", 2],
      ].sort((x, y) => String(x).localeCompare(String(y))).map((r) => r),
      "sorted by key",
    );
    const completed = rows.find((r) => r.minute === 60_000 && r.kind === "completed")!;
    assert.equal(completed.runBins.reduce((n, c) => n + c, 0), 2);
    assert.equal(rows.find((r) => r.kind === "cancelled")!.runBins.reduce((n, c) => n + c, 0), 0);
    assert.equal(tally.empty, true);
  });
});
