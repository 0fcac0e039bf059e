/**
 * The input limits: each is enforced at its documented number, its error names that number, and
 * the README's "Input limits" table quotes the same numbers as the code (`src/_limits.ts`).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { TaskQueue, ValidationError } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { HTTP_LIMITS, LIMITS } from "../src/_limits.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** A number as the README writes it: 10,000 and 1,048,576, but 64 and 1000 (four digits). */
function spelled(n: number): string {
  return n >= 10_000 ? n.toLocaleString("en-US") : String(n);
}

/** An array nested `depth` levels deep. */
function nest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 1; i < depth; i++) value = [value];
  return depth > 0 ? [value] : value;
}

/** Asserts a ValidationError whose message names `limit`. */
async function refusedNaming(call: Promise<unknown>, limit: number): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof ValidationError, `${error} is a ValidationError`);
    assert.ok(error.message.includes(String(limit)), `"${error.message}" names ${limit}`);
    return true;
  });
}

describe("input limits", () => {
  test("the queue enforces each limit at its number and its error names it", async () => {
    const queue = await TaskQueue.open(":memory:");
    try {
      const task = (i: number) => ({ name: `t${i}`, taskType: "t" });
      const most = Array.from({ length: LIMITS.enqueueMany }, (_, i) => task(i));
      await refusedNaming(queue.enqueueMany([...most, task(-1)]), LIMITS.enqueueMany);
      assert.equal((await queue.getQueueStats()).pending, 0, "nothing of a refused batch");
      assert.equal((await queue.enqueueMany(most)).length, LIMITS.enqueueMany);

      await refusedNaming(queue.getTasksByStatus("pending", LIMITS.listPage + 1), LIMITS.listPage);
      assert.equal((await queue.getTasksByStatus("pending", LIMITS.listPage)).length, 10_000);

      const deep = { name: "deep", taskType: "t", payload: nest(LIMITS.jsonDepth + 1) };
      await refusedNaming(queue.enqueue(deep), LIMITS.jsonDepth);
      const id = await queue.enqueue({ ...deep, payload: nest(LIMITS.jsonDepth) });
      assert.deepEqual((await queue.getTask(id))!.payload, nest(LIMITS.jsonDepth));

      for (const field of ["name", "taskType", "uniqueKey", "concurrencyKey"] as const) {
        const long = { ...task(0), [field]: "x".repeat(LIMITS[field] + 1) };
        await refusedNaming(queue.enqueue(long), LIMITS[field]);
        await queue.enqueue({ ...task(0), [field]: "x".repeat(LIMITS[field]) });
      }
    } finally {
      await queue.close();
    }
  });

  test("the HTTP API enforces its limits and its errors name them", async () => {
    const queue = await TaskQueue.open(":memory:");
    try {
      const app = createQueueApp(queue);
      const post = (path: string, body: unknown) =>
        app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const tasks = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ name: `t${i}`, taskType: "t" }));
      const over = await post("/tasks/batch", { tasks: tasks(HTTP_LIMITS.batch + 1) });
      assert.equal(over.status, 400);
      assert.match(await over.text(), new RegExp(`at most ${HTTP_LIMITS.batch} tasks`));
      assert.ok((await post("/tasks/batch", { tasks: tasks(HTTP_LIMITS.batch) })).ok);

      const page = await app.request(`/tasks?status=pending&limit=${HTTP_LIMITS.listPage + 1}`);
      assert.equal(page.status, 400);
      assert.match(await page.text(), new RegExp(`<= ${HTTP_LIMITS.listPage}`));
      const full = await app.request(`/tasks?status=pending&limit=${HTTP_LIMITS.listPage}`);
      assert.equal((await full.json()).tasks.length, HTTP_LIMITS.listPage);

      const big = await post("/tasks", {
        name: "big",
        taskType: "t",
        payload: "x".repeat(HTTP_LIMITS.bodyBytes),
      });
      assert.equal(big.status, 413);
      assert.equal((await queue.getQueueStats()).pending, HTTP_LIMITS.batch);
    } finally {
      await queue.close();
    }
  });

  test("the README's \"Input limits\" table quotes the code's numbers", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("### Input limits");
    assert.ok(start >= 0, "README has an Input limits section");
    const section = readme.slice(start, readme.indexOf("\n#", start + 1));
    for (const [name, value] of [...Object.entries(LIMITS), ...Object.entries(HTTP_LIMITS)]) {
      assert.ok(section.includes(spelled(value)), `the section quotes ${name}: ${spelled(value)}`);
    }
  });
});
