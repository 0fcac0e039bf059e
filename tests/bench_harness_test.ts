/**
 * The benchmark harness's own moving parts that could silently go wrong: the scale builder fills
 * tasklite's current schema (columns read at run time) with rows the queue counts as completed,
 * the better-sqlite3 adapter the peers run on keeps its transaction and row-shape semantics, the
 * raw baselines handle every row, and the statistics are what the table claims. No timings.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue } from "../mod.ts";
import { claimComplete, openRaw, seed, sqlFloor } from "../bench/_raw.ts";
import { openDb } from "../bench/_runtime.ts";
import { buildScaleFile } from "../bench/_scale.ts";
import { ShimDatabase } from "../bench/_sqlite_shim.ts";
import { median, quantile } from "../bench/_stats.ts";
import { tempDir } from "./_helpers.ts";

describe("bench harness", () => {
  test("the scale builder fills tasklite's schema with completed rows the queue counts", async () => {
    const tmp = tempDir();
    try {
      const { columns } = await buildScaleFile(tmp.file("scale.db"), 2_500);
      assert.ok(columns.includes("status") && columns.includes("completed_at"));
      const queue = await TaskQueue.open(tmp.file("scale.db"));
      try {
        const stats = await queue.getQueueStats();
        assert.equal(stats.completed, 2_500);
        assert.equal(stats.pending, 0);
        assert.equal(await queue.dequeue(), null);
      } finally {
        await queue.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  test("the raw baselines claim and complete every row exactly once", async () => {
    const tmp = tempDir();
    try {
      const db = await openRaw(tmp.file("raw.db"));
      try {
        seed(db, 300);
        assert.equal(sqlFloor(db).count, 300);
        seed(db, 50);
        assert.equal(claimComplete(db).count, 50);
        const row = db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'completed'").get();
        assert.equal(Number(row?.n), 350);
      } finally {
        db.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  test("the better-sqlite3 adapter: named params, raw rows, transactions, savepoints", async () => {
    const db = new ShimDatabase(await openDb(":memory:"), ":memory:");
    try {
      db.exec("CREATE TABLE t (a INTEGER, b TEXT)");
      const insert = db.prepare("INSERT INTO t (a, b) VALUES (@a, @b)");
      assert.equal(insert.run({ a: 1, b: "x" }).lastInsertRowid, 1);
      assert.deepEqual(db.prepare("SELECT a, b FROM t").raw().all(), [[1, "x"]]);
      assert.equal(db.prepare("SELECT a FROM t WHERE a = ?").get(2), undefined);
      const many = db.transaction((n: unknown) => {
        for (let i = 0; i < (n as number); i++) insert.run({ a: 10 + i, b: undefined });
      });
      many.immediate(3);
      assert.throws(() =>
        db.transaction(() => {
          insert.run({ a: 99, b: "rolled back" });
          db.transaction(() => insert.run({ a: 98, b: "inner" }))();
          throw new Error("boom");
        })()
      );
      assert.equal(db.inTransaction, false);
      const count = db.prepare("SELECT count(*) AS n FROM t").get() as { n: number };
      assert.equal(Number(count.n), 4);
      assert.equal(db.pragma("user_version", { simple: true }), 0);
    } finally {
      db.close();
    }
  });

  test("quantiles by nearest rank, medians of even counts", () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(quantile(samples, 0.5), 50);
    assert.equal(quantile(samples, 0.99), 99);
    assert.equal(quantile([7], 0.99), 7);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });
});
