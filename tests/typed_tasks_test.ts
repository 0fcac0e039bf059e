/**
 * Typed tasks through the public API: validation at enqueue (the field named, nothing written;
 * enqueueMany all or nothing), the type's defaults, validation at claim (a stored payload that
 * no longer matches fails for good with the reason, the handler never called), result checks,
 * schema evolution (tasks stored under v1 run by a v2 worker), over HTTP (400 naming the field,
 * the OpenAPI oneOf, the typed `hc` client, an HttpWorker with typed handlers). The compile
 * errors are tested by `deno check` of tests/fixtures/typed_tasks_types.ts.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { hc } from "hono/client";
import {
  defineTask,
  defineTasks,
  HttpWorker,
  silentLogger,
  TaskPriority,
  TaskQueue,
  typedQueue,
  ValidationError,
  Worker,
} from "../mod.ts";
import { createQueueApp, type TypedQueueApp } from "../hono.ts";
import { memoryQueue, tempDir } from "./_helpers.ts";

const sendEmail = defineTask({
  type: "send_email",
  payload: v.object({
    to: v.pipe(v.string(), v.email()),
    subject: v.optional(v.string(), "Hello"),
  }),
  result: v.object({ sent: v.boolean() }),
  defaults: { priority: TaskPriority.HIGH, maxRetries: 5, timeoutMs: 30_000 },
});
const resize = defineTask({ type: "resize", payload: v.object({ image: v.number() }) });
const tasks = defineTasks([sendEmail, resize]);

describe("typed tasks: enqueue", () => {
  test("a valid payload is stored parsed, with the type's defaults under the options", async () => {
    const { queue } = await memoryQueue();
    try {
      const typed = typedQueue(queue, tasks);
      const id = await typed.enqueue({
        name: "Welcome",
        taskType: "send_email",
        payload: { to: "a@example.com" },
        maxRetries: 1,
      });
      const task = (await queue.getTask(id))!;
      assert.deepEqual(task.payload, { to: "a@example.com", subject: "Hello" });
      assert.equal(task.priority, TaskPriority.HIGH);
      assert.equal(task.maxRetries, 1, "the enqueue's own option wins");
      assert.equal(task.timeoutMs, 30_000);
      const other = (await queue.getTask(
        await typed.enqueue({ name: "r", taskType: "resize", payload: { image: 7 } }),
      ))!;
      assert.equal(other.priority, TaskPriority.NORMAL);
      assert.equal(other.maxRetries, 3);
    } finally {
      await queue.close();
    }
  });

  test("a bad payload: a ValidationError naming the field, nothing written", async () => {
    const { queue } = await memoryQueue();
    try {
      const typed = typedQueue(queue, tasks);
      await assert.rejects(
        typed.enqueue({ name: "x", taskType: "send_email", payload: { to: "not-an-email" } }),
        (error: unknown) =>
          error instanceof ValidationError && /payload\.to/.test(error.message) &&
          error.issues.length === 1,
      );
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        typed.enqueue({ name: "x", taskType: "send_emial", payload: {} } as any),
        (error: unknown) => error instanceof ValidationError && /send_emial/.test(error.message),
      );
      // All or nothing: the second item is bad, the first is not written either.
      await assert.rejects(
        typed.enqueueMany([
          { name: "a", taskType: "resize", payload: { image: 1 } },
          // deno-lint-ignore no-explicit-any
          { name: "b", taskType: "resize", payload: { image: "2" } as any },
        ]),
        (error: unknown) =>
          error instanceof ValidationError && /1\.payload\.image/.test(error.message),
      );
      assert.equal((await queue.getQueueStats()).pending, 0);
      assert.deepEqual(
        await typed.enqueueMany([
          { name: "a", taskType: "resize", payload: { image: 1 } },
          { name: "b", taskType: "send_email", payload: { to: "b@example.com" } },
        ]),
        [1, 2],
      );
    } finally {
      await queue.close();
    }
  });

  test("bad definitions and registries throw TypeErrors", () => {
    const payload = v.object({});
    assert.throws(() => defineTask({ type: "", payload }), TypeError);
    assert.throws(() => defineTask({ type: "t", payload, version: 0 }), ValidationError);
    assert.throws(() => defineTask({ type: "t", payload: {} as never }), ValidationError);
    assert.throws(
      () => defineTask({ type: "t", payload, defaults: { maxRetries: -1 } }),
      ValidationError,
    );
    assert.throws(() => defineTasks([resize, resize]), /defined twice/);
    assert.throws(() => tasks.handlers({ nope: () => 1 } as never), ValidationError);
  });
});

describe("typed tasks: workers", () => {
  test("each handler gets its parsed payload; its result is checked", async () => {
    const { queue } = await memoryQueue();
    try {
      const typed = typedQueue(queue, tasks);
      await typed.enqueue({ name: "e", taskType: "send_email", payload: { to: "a@example.com" } });
      const seen: unknown[] = [];
      const worker = new Worker(queue, {
        handlers: tasks.handlers({
          send_email: (payload) => {
            seen.push(payload);
            return { sent: true };
          },
        }),
      });
      assert.equal(await worker.tick(), 1);
      assert.deepEqual(seen, [{ to: "a@example.com", subject: "Hello" }]);
      assert.deepEqual((await queue.getTask(1))?.result, { sent: true });

      // A result that does not match its schema fails the task for good (a bug retries repeat).
      await typed.enqueue({ name: "e", taskType: "send_email", payload: { to: "b@example.com" } });
      const wrong = new Worker(queue, {
        handlers: tasks.handlers({ send_email: () => ({ sent: "yes" }) as never }),
      });
      await wrong.tick();
      const failed = (await queue.getTask(2))!;
      assert.equal(failed.status, "failed");
      assert.equal(failed.attempts, 1);
      assert.match(failed.error!, /Invalid result of task 2 \("send_email"\): result\.sent/);
    } finally {
      await queue.close();
    }
  });

  test("a stored payload that does not match fails for good, the handler never runs", async () => {
    const { queue } = await memoryQueue();
    try {
      // Enqueued untyped (or by an older producer): the claim-time check catches it.
      await queue.enqueue({
        name: "bad",
        taskType: "send_email",
        payload: { to: 42 },
        maxRetries: 5,
      });
      let called = false;
      const worker = new Worker(queue, {
        handlers: tasks.handlers({
          send_email: () => {
            called = true;
            return { sent: true };
          },
        }),
      });
      await worker.tick();
      const task = (await queue.getTask(1))!;
      assert.equal(called, false);
      assert.equal(task.status, "failed", "no retries, though maxRetries is 5");
      assert.equal(task.errors.length, 1);
      assert.match(
        task.errors[0]!.error,
        /Invalid payload of task 1 \("send_email"\).*payload\.to/,
      );
    } finally {
      await queue.close();
    }
  });
});

describe("typed tasks: schema evolution", () => {
  const v1 = defineTask({ type: "greet", payload: v.object({ name: v.string() }) });
  const v2 = defineTask({
    type: "greet",
    payload: v.object({ first: v.string(), last: v.pipe(v.string(), v.nonEmpty()) }),
    version: 2,
    upgrade: (old, from) => {
      if (from !== 1) throw new Error(`no upgrade from ${from}`);
      const [first = "", last = ""] = (old as { name: string }).name.split(" ");
      return { first, last };
    },
  });

  test("tasks stored under v1 are upgraded for a v2 worker; v2 stamps its version", async () => {
    const temp = tempDir();
    try {
      const path = temp.file("queue.db");
      const old = await TaskQueue.open(path);
      const v1Queue = typedQueue(old, defineTasks([v1]));
      await v1Queue.enqueue({ name: "a", taskType: "greet", payload: { name: "Ada Lovelace" } });
      // Written under v1 and now invalid for either version: fails for good at claim.
      await v1Queue.enqueue({ name: "b", taskType: "greet", payload: { name: "Plato" } });
      await old.close();

      const queue = await TaskQueue.open(path);
      try {
        const v2Tasks = defineTasks([v2]);
        const id = await typedQueue(queue, v2Tasks).enqueue({
          name: "c",
          taskType: "greet",
          payload: { first: "Alan", last: "Turing" },
        });
        assert.deepEqual((await queue.getTask(id))?.payload, {
          first: "Alan",
          last: "Turing",
          $version: 2,
        });
        const seen: unknown[] = [];
        const worker = new Worker(queue, {
          concurrency: 3,
          handlers: v2Tasks.handlers({
            greet: (payload) => {
              seen.push(payload);
              return `${payload.first} ${payload.last}`;
            },
          }),
        });
        await worker.tick();
        assert.deepEqual(
          seen.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
          [{ first: "Ada", last: "Lovelace" }, { first: "Alan", last: "Turing" }],
        );
        const plato = (await queue.getTask(2))!;
        assert.equal(plato.status, "failed");
        assert.match(plato.error!, /version 2, upgraded from version 1.*payload\.last/);
      } finally {
        await queue.close();
      }
    } finally {
      temp.cleanup();
    }
  });

  test("a payload newer than the worker's version fails the attempt, to be retried", async () => {
    const { queue } = await memoryQueue();
    try {
      await typedQueue(queue, defineTasks([v2])).enqueue({
        name: "new",
        taskType: "greet",
        payload: { first: "A", last: "B" },
      });
      const worker = new Worker(queue, {
        handlers: defineTasks([v1]).handlers({ greet: () => null }),
      });
      await worker.tick();
      const task = (await queue.getTask(1))!;
      assert.equal(task.status, "pending", "retried, for a worker that knows version 2");
      assert.match(task.error!, /payload is version 2, this worker knows up to version 1/);
    } finally {
      await queue.close();
    }
  });
});

describe("typed tasks: HTTP", () => {
  test("POST /tasks checks payloads (400 naming the field, nothing written)", async () => {
    const { queue } = await memoryQueue();
    try {
      const app = createQueueApp(queue, { tasks });
      const post = (path: string, body: unknown) =>
        app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const bad = await post("/tasks", {
        name: "x",
        taskType: "send_email",
        payload: { to: "nope" },
      });
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error.message, /payload\.to/);
      const unknown = await post("/tasks", { name: "x", taskType: "other", payload: {} });
      assert.equal(unknown.status, 400);
      const batch = await post("/tasks/batch", {
        tasks: [
          { name: "a", taskType: "resize", payload: { image: 1 } },
          { name: "b", taskType: "resize", payload: {} },
        ],
      });
      assert.equal(batch.status, 400);
      assert.match((await batch.json()).error.message, /tasks\.1\.payload\.image/);
      assert.equal((await queue.getQueueStats()).pending, 0);

      const ok = await post("/tasks", {
        name: "w",
        taskType: "send_email",
        payload: { to: "a@example.com" },
      });
      assert.equal(ok.status, 201);
      const { task } = await ok.json();
      assert.equal(task.priority, TaskPriority.HIGH, "the type's defaults apply over HTTP too");
      assert.deepEqual(task.payload, { to: "a@example.com", subject: "Hello" });
    } finally {
      await queue.close();
    }
  });

  test("the OpenAPI document has one enqueue body per task type (oneOf)", async () => {
    const { queue } = await memoryQueue();
    try {
      const doc = await (await createQueueApp(queue, { tasks }).request("/openapi.json")).json();
      const schema = doc.paths["/tasks"].post.requestBody.content["application/json"].schema;
      assert.deepEqual(schema.oneOf, [
        { $ref: "#/components/schemas/Enqueue_send_email" },
        { $ref: "#/components/schemas/Enqueue_resize" },
      ]);
      const email = doc.components.schemas.Enqueue_send_email;
      assert.deepEqual(email.properties.taskType, { const: "send_email" });
      assert.equal(email.properties.payload.properties.to.format, "email");
      assert.ok(email.required.includes("payload"));
      const batch = doc.paths["/tasks/batch"].post.requestBody.content["application/json"].schema;
      assert.deepEqual(batch.properties.tasks.items.oneOf, schema.oneOf);
      // Without a registry, the document is as it was.
      const plain = await (await createQueueApp(queue).request("/openapi.json")).json();
      assert.equal(plain.components.schemas.Enqueue_send_email, undefined);
    } finally {
      await queue.close();
    }
  });

  test("the typed hc client and an HttpWorker with typed handlers, end to end", async () => {
    const { queue } = await memoryQueue();
    try {
      const app = createQueueApp(queue, { tasks });
      const fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
        app.request(
          input instanceof Request ? input : String(input),
          init,
        )) as typeof globalThis.fetch;
      const client = hc<TypedQueueApp<typeof tasks>>("http://queue.test", { fetch });
      const response = await client.tasks.$post({
        json: { name: "w", taskType: "send_email", payload: { to: "a@example.com" } },
      });
      assert.equal(response.status, 201);
      const seen: string[] = [];
      const worker = new HttpWorker({
        url: "http://queue.test",
        fetch,
        logger: silentLogger,
        handlers: tasks.handlers({
          send_email: (payload) => {
            seen.push(payload.subject);
            return { sent: true };
          },
        }),
      });
      assert.equal(await worker.tick(), 1);
      assert.deepEqual(seen, ["Hello"]);
      assert.deepEqual((await queue.getTask(1))?.result, { sent: true });
    } finally {
      await queue.close();
    }
  });
});
