/**
 * Group commit: the writes a queue issues in one turn share one transaction. Counted through a
 * driver that records transactions (and can be told to fail a statement), on a real file where
 * a second connection must see what was acknowledged.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import {
  LeaseLostError,
  type SqliteDriver,
  type SqliteValue,
  TaskQueue,
  ValidationError,
  Worker,
} from "../mod.ts";
import { immediate } from "../src/drivers/_file.ts";
import { tempDir } from "./_helpers.ts";

/** A node:sqlite driver that counts transactions and fails any statement `poisoned` picks. */
function faultyDriver(db: DatabaseSync, poisoned: (params: readonly SqliteValue[]) => boolean) {
  const counts = { transactions: 0 };
  const guard = (params: readonly SqliteValue[]) => {
    if (poisoned(params)) throw new Error("disk I/O error (injected)");
  };
  const driver: SqliteDriver = {
    name: "faulty",
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const statement = db.prepare(sql);
      return {
        all: (params) => (guard(params), statement.all(...params)),
        get: (params) => (guard(params), statement.get(...params)),
        run: (params) => (guard(params), Number(statement.run(...params).changes)),
      };
    },
    transaction(fn) {
      counts.transactions++;
      return immediate(db, fn);
    },
  };
  return { driver, counts };
}

async function openCounted(poisoned: (params: readonly SqliteValue[]) => boolean = () => false) {
  const tmp = tempDir();
  const db = new DatabaseSync(tmp.file("group.db"));
  const { driver, counts } = faultyDriver(db, poisoned);
  const queue = await TaskQueue.open({ database: driver });
  const close = async () => {
    await queue.close();
    db.close();
    tmp.cleanup();
  };
  return { queue, counts, close, file: tmp.file("group.db") };
}

describe("group commit", () => {
  test("1,000 enqueue() calls in flight share one transaction, each with its own id", async () => {
    const { queue, counts, close } = await openCounted();
    try {
      const before = counts.transactions;
      const ids = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => queue.enqueue({ name: `t${i}`, taskType: "t" })),
      );
      assert.equal(counts.transactions - before, 1);
      assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), "distinct ids, in call order");
      assert.equal((await queue.getQueueStats()).pending, 1000);
    } finally {
      await close();
    }
  });

  test("an invalid enqueue among those in flight rejects alone, changing nothing", async () => {
    const { queue, close } = await openCounted();
    try {
      const results = await Promise.allSettled(
        Array.from(
          { length: 10 },
          (_, i) =>
            queue.enqueue({ name: `t${i}`, taskType: "t", priority: i === 4 ? 9 as never : 2 }),
        ),
      );
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 9);
      const rejected = results[4]!;
      assert.equal(rejected.status, "rejected");
      assert.ok(rejected.reason instanceof ValidationError);
      assert.equal((await queue.getQueueStats()).pending, 9);
    } finally {
      await close();
    }
  });

  test("a batch that fails in SQLite runs again op by op: only the failing op rejects", async () => {
    const { queue, counts, close } = await openCounted((params) => params.includes("poison"));
    try {
      const before = counts.transactions;
      const results = await Promise.allSettled(
        ["a", "b", "poison", "c"].map((name) => queue.enqueue({ name, taskType: "t" })),
      );
      assert.deepEqual(results.map((r) => r.status), [
        "fulfilled",
        "fulfilled",
        "rejected",
        "fulfilled",
      ]);
      assert.match(String((results[2] as PromiseRejectedResult).reason), /injected/);
      assert.equal(counts.transactions - before, 1, "the batch, rolled back; then one by one");
      const names = (await queue.getTasksByStatus("pending")).map((task) => task.name).sort();
      assert.deepEqual(names, ["a", "b", "c"], "nothing of the failed batch stayed twice");
    } finally {
      await close();
    }
  });

  test("completions issued together share a commit and are fenced one by one", async () => {
    const { queue, counts, close } = await openCounted();
    try {
      await queue.enqueueMany(["a", "b", "c"].map((name) => ({ name, taskType: "t" })));
      const [a, b, c] = await queue.dequeueMany(3);
      await queue.release(c!);
      const stale = c!; // its claim was given back
      const before = counts.transactions;
      const results = await Promise.allSettled([
        queue.completeTask(a!, "A"),
        queue.completeTask(stale, "C"),
        queue.completeTask(b!, "B"),
        queue.completeTask(a!, "again"),
      ]);
      assert.equal(counts.transactions - before, 1);
      assert.deepEqual(results.map((r) => r.status), [
        "fulfilled",
        "rejected",
        "fulfilled",
        "rejected",
      ]);
      assert.ok((results[1] as PromiseRejectedResult).reason instanceof LeaseLostError);
      assert.ok((results[3] as PromiseRejectedResult).reason instanceof LeaseLostError);
      assert.equal((await queue.getTask(a!.id))!.result, "A", "the first completion applied");
      assert.equal((await queue.getTask(c!.id))!.status, "pending");
      assert.equal((await queue.getQueueStats()).completed, 2);
    } finally {
      await close();
    }
  });

  test("a read sees the writes issued before it, awaited or not", async () => {
    const { queue, close } = await openCounted();
    try {
      void queue.enqueue({ name: "not awaited", taskType: "t" });
      assert.equal((await queue.getQueueStats()).pending, 1);
    } finally {
      await close();
    }
  });

  test("a worker's completions share commits with the claims for the slots they free", async () => {
    const { queue, counts, close, file } = await openCounted();
    const other = new DatabaseSync(file);
    try {
      await queue.enqueueMany(
        Array.from({ length: 200 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
      );
      // Acknowledged only once committed: another connection already sees the row completed.
      const unseen: number[] = [];
      const read = other.prepare("SELECT status FROM tasks WHERE id = ?");
      queue.on("completed", ({ task }) => {
        if (read.get(task.id)?.status !== "completed") unseen.push(task.id);
      });
      const before = counts.transactions;
      const worker = new Worker(queue, {
        handlers: { t: () => null },
        concurrency: 10,
        pollIntervalMs: 50,
      });
      worker.start();
      await worker.onIdle();
      await worker.stop();
      const transactions = counts.transactions - before;
      assert.equal((await queue.getQueueStats()).completed, 200);
      assert.deepEqual(unseen, []);
      // Unbatched, each task costs a claim and a completion: 400 commits; batched, about 2 per
      // 10 tasks, or 1 when the claims join the completions that freed their slots.
      assert.ok(transactions <= 30, `${transactions} transactions for 200 tasks`);
    } finally {
      other.close();
      await close();
    }
  });

  test("a backlog of synchronous handlers leaves room for timers while it drains", async () => {
    const { queue, close } = await openCounted();
    try {
      const total = 5000;
      for (let i = 0; i < total; i += 1000) {
        await queue.enqueueMany(
          Array.from({ length: 1000 }, (_, j) => ({ name: `${i + j}`, taskType: "t" })),
        );
      }
      let ran = 0;
      const worker = new Worker(queue, {
        handlers: { t: () => void ran++ },
        concurrency: 8,
        pollIntervalMs: 50,
      });
      const seen = new Promise<number>((resolve) => setTimeout(() => resolve(ran), 0));
      worker.start();
      const ranWhenTheTimerFired = await seen;
      await worker.onIdle();
      await worker.stop();
      assert.equal(ran, total);
      assert.ok(ranWhenTheTimerFired < total, `the timer waited for all ${total} tasks`);
    } finally {
      await close();
    }
  });
});
