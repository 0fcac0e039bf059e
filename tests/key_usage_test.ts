/**
 * `Engine.keyUsage`: what a concurrency key of a type holds now (running tasks, claims in its
 * per-key rate window and the earliest of them), counted as the claim counts it, so that with
 * `keyRoom` a caller (such as `explain()`) can tell that a key is at its limit. On the SQLite
 * engine, and on PostgreSQL when `TASKLITE_PG_URL` is set (skipped visibly otherwise).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { describe, test } from "node:test";
import { type OpenOptions, TaskQueue } from "../mod.ts";
import { openEngine } from "../src/_open_engine.ts";
import { keyRoom } from "../src/core/key_limits.ts";
import { FakeClock, tempDir } from "./_helpers.ts";

const URL = process.env.TASKLITE_PG_URL;
const pgSkip = URL ? false : "engine postgres: TASKLITE_PG_URL is not set";
if (pgSkip) console.log(`SKIP key_usage_test (postgres): ${pgSkip}`);

/** Runs the checks on the storage `options` name (fresh, empty). */
async function checks(options: OpenOptions): Promise<void> {
  const clock = new FakeClock();
  const queue = await TaskQueue.open({ ...options, clock: clock.fn });
  const engine = await openEngine(options, clock.now);
  try {
    await queue.setLimits("sync", {
      concurrencyPerKey: 2,
      ratePerKey: { max: 3, intervalMs: 1000 },
    });
    assert.deepEqual(await engine.keyUsage("sync", "a", clock.now), {
      running: 0,
      heldBy: [],
      claimed: 0,
      oldestClaimAt: null,
    });
    await queue.enqueueMany(
      Array.from(
        { length: 4 },
        (_, i) => ({ name: `a${i}`, taskType: "sync", concurrencyKey: "a" }),
      ),
    );
    const start = clock.now;
    const first = await queue.dequeueMany(10);
    assert.equal(first.length, 2);
    const usage = await engine.keyUsage("sync", "a", clock.now);
    const ids = first.map((task) => task.id).sort((a, b) => b - a);
    assert.deepEqual(usage, { running: 2, heldBy: ids, claimed: 2, oldestClaimAt: start });
    const [control] = await queue.getControls();
    assert.equal(keyRoom(control!, usage, 1), 0, "at its concurrency limit");
    assert.deepEqual(await engine.keyUsage("sync", "b", clock.now), {
      running: 0,
      heldBy: [],
      claimed: 0,
      oldestClaimAt: null,
    }, "another key holds nothing");
    for (const task of first) await queue.completeTask(task);
    clock.advance(10);
    const second = await queue.dequeueMany(10);
    assert.equal(second.length, 1, "the rate window holds 3 claims");
    const full = await engine.keyUsage("sync", "a", clock.now);
    assert.deepEqual(full, {
      running: 1,
      heldBy: [second[0]!.id],
      claimed: 3,
      oldestClaimAt: start,
    });
    assert.equal(keyRoom(control!, full, 1), 0, "at its rate limit");
    clock.advance(990);
    assert.deepEqual(
      await engine.keyUsage("sync", "a", clock.now),
      { running: 1, heldBy: [second[0]!.id], claimed: 1, oldestClaimAt: start + 10 },
      "the first claims left the window",
    );
  } finally {
    await engine.close();
    await queue.close();
  }
}

describe("keyUsage", () => {
  test("sqlite: running tasks and claims in the window of one key", async () => {
    const tmp = tempDir();
    try {
      await checks({ path: tmp.file("keys.db") });
    } finally {
      tmp.cleanup();
    }
  });

  test(
    "postgres: running tasks and claims in the window of one key",
    { skip: pgSkip },
    async () => {
      const schema = `tasklite_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      try {
        await checks({ postgres: URL!, schema });
      } finally {
        const { default: postgres } = await import("postgres");
        const sql = postgres(URL!, { onnotice: () => {}, max: 1 });
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.end({ timeout: 5 });
      }
    },
  );
});
