/**
 * Data integrity beyond the queue API (issue 9, bugs 3 and 8): what a Worker and the HTTP API
 * record for a failure whose text SQLite cannot store exactly, and a queue file with a row whose
 * JSON does not parse, written by a second connection of each binding (node:sqlite, and
 * bun:sqlite on Bun), drained by a Worker. The engine-independent cases live in
 * `tests/conformance/data_integrity.ts`.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus, Worker } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { memoryQueue, RUNTIME, tempDir } from "./_helpers.ts";

/** Runs `sql` on the file at `path` through a second connection of `driver`. */
async function writeRaw(
  driver: "node:sqlite" | "bun:sqlite",
  path: string,
  sql: string,
): Promise<void> {
  if (driver === "bun:sqlite") {
    // A variable specifier: only Bun resolves it, and only Bun gets here.
    const specifier = "bun:sqlite";
    const { Database } = await import(specifier);
    const raw = new Database(path);
    try {
      raw.exec("PRAGMA busy_timeout = 5000");
      raw.exec(sql);
    } finally {
      raw.close();
    }
    return;
  }
  const { DatabaseSync } = await import("node:sqlite");
  const raw = new DatabaseSync(path);
  try {
    raw.exec("PRAGMA busy_timeout = 5000");
    raw.exec(sql);
  } finally {
    raw.close();
  }
}

describe("a failure whose text SQLite cannot store is recorded, escaped visibly", () => {
  test("a Worker records a handler's error with NUL and lone surrogates escaped", async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 0 });
    const worker = new Worker(queue, {
      handlers: {
        t: () => {
          throw new Error("bad byte \0 and \ud800 in 😀");
        },
      },
    });
    assert.equal(await worker.tick(), 1);
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.error, "bad byte \\u0000 and \\ud800 in 😀");
    assert.deepEqual(task.errors.map((e) => e.error), [task.error]);
    await queue.close();
  });

  test("the HTTP API records a remote worker's failure message with a NUL", async () => {
    const { queue } = await memoryQueue();
    const app = createQueueApp(queue);
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 0 });
    const task = (await queue.dequeue())!;
    const response = await app.request(`/worker/tasks/${id}/fail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ attempts: task.attempts, error: "cut\0here \udc00" }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal((await response.json() as { error: string }).error, "cut\\u0000here \\udc00");
    assert.equal((await queue.getTask(id))!.error, "cut\\u0000here \\udc00");
    await queue.close();
  });

  test("the HTTP API refuses a task name with a NUL (400), storing nothing", async () => {
    const { queue } = await memoryQueue();
    const app = createQueueApp(queue);
    const response = await app.request("/tasks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "cut\0here", taskType: "t" }),
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /name must not contain a NUL character/);
    assert.equal((await queue.getQueueStats()).pending, 0);
    await queue.close();
  });
});

const DRIVERS = RUNTIME === "bun"
  ? ["node:sqlite", "bun:sqlite"] as const
  : ["node:sqlite"] as const;
if (RUNTIME !== "bun") {
  const reason = `bun:sqlite: needs the Bun runtime (running on ${RUNTIME})`;
  console.log(`SKIP data integrity on bun:sqlite: ${reason}`);
  test("a Worker drains a file with an undecodable row: bun:sqlite", { skip: reason }, () => {});
}

for (const driver of DRIVERS) {
  test(`a Worker drains a file with an undecodable row: ${driver}`, async () => {
    const tmp = tempDir();
    const path = tmp.file("tasks.db");
    const queue = await TaskQueue.open(path, { driver });
    try {
      const ids = await queue.enqueueMany(
        Array.from({ length: 6 }, (_, i) => ({ name: `n${i}`, taskType: "t", payload: { i } })),
      );
      const poisoned = ids[2]!;
      await writeRaw(driver, path, `UPDATE tasks SET payload = '{"i": 2' WHERE id = ${poisoned}`);
      const seen: number[] = [];
      const worker = new Worker(queue, {
        handlers: { t: (payload: { i: number }) => void seen.push(payload.i) },
        concurrency: 2,
      });
      assert.equal(await worker.tick(), 5, "every other task ran");
      assert.deepEqual(seen.sort(), [0, 1, 3, 4, 5]);
      const failed = (await queue.getTask(poisoned))!;
      assert.equal(failed.status, TaskStatus.FAILED);
      assert.equal(failed.error, `Cannot decode task ${poisoned}: payload is not valid JSON`);
      assert.deepEqual(await queue.getQueueStats(), {
        pending: 0,
        running: 0,
        completed: 5,
        failed: 1,
        cancelled: 0,
      });
      // A new connection (a restart) reads the same: the failure was committed with the claim.
      const again = await TaskQueue.open(path, { driver });
      assert.equal((await again.getTask(poisoned))!.status, TaskStatus.FAILED);
      await again.close();
    } finally {
      await queue.close();
      tmp.cleanup();
    }
  });
}
