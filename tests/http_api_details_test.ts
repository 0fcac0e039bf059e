// The HTTP API's details a user notices (issue 10): trailing slashes, bodies that are not JSON
// objects, a release of a task never claimed, a duplicate Idempotency-Key, retry-failed's answer,
// where a fresh event stream starts, and the OpenAPI document's ids, components and servers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { TaskQueue, TaskStateError, TaskStatus } from "../mod.ts";
import { createQueueApp, ERROR_CODES, type QueueAppOptions } from "../hono.ts";
import { ROUTES } from "../src/http/_openapi.ts";
import { FakeClock } from "./_helpers.ts";

/** A queue served under /queue, as the README mounts it. */
async function setup(options: QueueAppOptions = {}) {
  const clock = new FakeClock();
  const queue = await TaskQueue.open(":memory:", { clock: clock.fn });
  const app = new Hono().route("/queue", createQueueApp(queue, options));
  const send = async (method: string, path: string, init: RequestInit = {}) => {
    const response = await app.request(`/queue${path}`, { method, ...init });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON */ }
    // deno-lint-ignore no-explicit-any
    return { status: response.status, json: json as any, headers: response.headers };
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send("POST", path, {
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    });
  return { queue, clock, app, send, post };
}

/** Reads an event stream until `done(text)` holds, then closes it. */
async function readEvents(response: Response, done: (text: string) => boolean): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value);
  }
  await reader.cancel().catch(() => {});
  return text;
}

describe("HTTP API details", () => {
  test("a trailing slash redirects to the path without it: the dashboard and the routes", async () => {
    const { queue, send } = await setup();
    const root = await send("GET", "/");
    assert.equal(root.status, 301);
    assert.equal(root.headers.get("location"), "../queue");
    assert.equal(new URL(root.headers.get("location")!, "http://x/queue/").pathname, "/queue");
    const dashboard = await send("GET", "");
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.headers.get("content-type")!, /text\/html/);
    const stats = await send("GET", "/stats/?x=1");
    assert.equal(stats.status, 301);
    assert.equal(stats.headers.get("location"), "../stats?x=1");
    const post = await send("POST", "/tasks/", { body: "{}" });
    assert.equal(post.status, 404, "only GET and HEAD are redirected");
    await queue.close();
  });

  test("with auth, the redirect keeps the access_token and the root still needs it", async () => {
    const token = "read-token-123";
    const { queue, send } = await setup({ auth: { readTokens: [token] } });
    const redirected = await send("GET", `/?access_token=${token}`);
    assert.equal(redirected.headers.get("location"), `../queue?access_token=${token}`);
    assert.equal((await send("GET", "")).status, 401);
    assert.equal((await send("GET", `?access_token=${token}`)).status, 200);
    await queue.close();
  });

  test("a body without Content-Type: application/json is a 415 and writes nothing", async () => {
    const { queue, send } = await setup();
    const body = JSON.stringify({ name: "n", taskType: "t" });
    for (const headers of [{}, { "content-type": "text/plain" }, { "content-type": "x-json" }]) {
      const response = await send("POST", "/tasks", { body, headers });
      assert.equal(response.status, 415, JSON.stringify(headers));
      assert.equal(response.json.error.code, "unsupported_media_type");
      assert.match(
        response.json.error.message,
        /must be JSON objects sent with Content-Type: application\/json/,
      );
    }
    // A body every field of which is optional is refused too, not read as `{}`.
    const pause = await send("POST", "/pause", {
      body: JSON.stringify({ taskType: "email" }),
      headers: { "content-type": "text/plain" },
    });
    assert.equal(pause.status, 415);
    assert.deepEqual(await queue.getControls(), [], "nothing was paused");
    const charset = await send("POST", "/tasks", {
      body,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    assert.equal(charset.status, 201, "a charset parameter is fine");
    assert.equal((await queue.getQueueStats()).pending, 1);
    await queue.close();
  });

  test("a body that is JSON but not an object is a 400 naming what it was", async () => {
    const { queue, post, send } = await setup();
    for (const [body, got] of [[[], "an array"], [null, "null"], ["x", "string"], [3, "number"]]) {
      const response = await post("/tasks", body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.json.error.code, "bad_request");
      assert.equal(response.json.error.message, `Invalid body: must be a JSON object, not ${got}`);
    }
    const batch = await post("/tasks/batch", [{ name: "n", taskType: "t" }]);
    assert.equal(batch.status, 400);
    assert.match(batch.json.error.message, /must be a JSON object, not an array/);
    const malformed = await send("POST", "/tasks", {
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    assert.equal(malformed.status, 400);
    assert.match(malformed.json.error.message, /malformed JSON/);
    assert.equal((await queue.getQueueStats()).pending, 0);
    await queue.close();
  });

  test("releasing a task never claimed is a 409 with its state, not a lost lease", async () => {
    const { queue, post } = await setup();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const before = await queue.getTask(id);
    const response = await post(`/worker/tasks/${id}/release`, { attempts: 1 });
    assert.equal(response.status, 409);
    assert.equal(response.json.error.code, "conflict");
    assert.equal(response.json.error.message, `Cannot release task ${id}: it is pending`);
    assert.deepEqual(await queue.getTask(id), before, "nothing changed");
    // The same in process: the error's class says why.
    await assert.rejects(queue.release({ id, attempts: 1 }), (error: unknown) => {
      assert.ok(error instanceof TaskStateError);
      assert.equal(error.status, TaskStatus.PENDING);
      return true;
    });
    // A claim the task had, released, is a lost lease still.
    const claimed = await post("/worker/claim", {});
    const { attempts } = claimed.json.tasks[0];
    assert.equal((await post(`/worker/tasks/${id}/release`, { attempts })).status, 200);
    const stale = await post(`/worker/tasks/${id}/complete`, { attempts });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, "lease_lost");
    await queue.close();
  });

  test("a duplicate Idempotency-Key answers 200 with the existing id, created: false", async () => {
    const { queue, post } = await setup();
    const headers = { "idempotency-key": "order-42" };
    const first = await post("/tasks", { name: "a", taskType: "t" }, headers);
    assert.equal(first.status, 201);
    assert.equal(first.json.created, true);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const again = await post("/tasks", { name: "b", taskType: "t" }, headers);
    assert.equal(again.status, 200);
    assert.equal(again.json.created, false);
    assert.equal(again.json.id, first.json.id);
    assert.equal(again.json.task.name, "a", "the existing task, unchanged");
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    const byBody = await post("/tasks", { name: "c", taskType: "t", uniqueKey: "order-42" });
    assert.equal(byBody.status, 200);
    assert.equal(byBody.json.id, first.json.id);
    const other = await post("/tasks", { name: "d", taskType: "t" }, { "idempotency-key": "o-43" });
    assert.equal(other.status, 201);
    assert.notEqual(other.json.id, first.json.id);
    const plain = await post("/tasks", { name: "e", taskType: "t" });
    assert.equal(plain.status, 201);
    assert.equal(plain.json.created, true);
    // Once the task is finished the key is free again: a new task.
    await queue.completeTask((await queue.dequeue())!, "done");
    const later = await post("/tasks", { name: "f", taskType: "t" }, headers);
    assert.equal(later.status, 201);
    assert.notEqual(later.json.id, first.json.id);
    assert.equal((await queue.getQueueStats()).pending, 3);
    await queue.close();
  });

  test("retry-failed answers the redriven ids and their count, not the tasks", async () => {
    const { queue, post } = await setup();
    await queue.enqueueMany([
      { name: "a", taskType: "email", maxRetries: 0, payload: "x".repeat(1000) },
      { name: "b", taskType: "sms", maxRetries: 0 },
      { name: "c", taskType: "email", maxRetries: 0 },
    ]);
    for (const task of await queue.dequeueMany(3)) await queue.failTask(task, "x");
    const redriven = await post("/tasks/retry-failed", { taskType: "email" });
    assert.equal(redriven.status, 200);
    assert.deepEqual(redriven.json, { ids: [1, 3], count: 2 });
    assert.deepEqual((await post("/tasks/retry-failed", { taskType: "email" })).json, {
      ids: [],
      count: 0,
    });
    assert.deepEqual((await post("/tasks/retry-failed", {})).json, { ids: [2], count: 1 });
    assert.equal((await queue.getQueueStats()).pending, 3);
    await queue.close();
  });

  test("a fresh event stream starts from now; Last-Event-ID resumes after that event", async () => {
    const { queue, app } = await setup();
    await queue.enqueue({ name: "old-1", taskType: "t" });
    await queue.enqueue({ name: "old-2", taskType: "t" });
    const controller = new AbortController();
    const fresh = await app.request("/queue/events", { signal: controller.signal });
    const reading = readEvents(fresh, (text) => text.includes("new-1"));
    await queue.enqueue({ name: "new-1", taskType: "t" });
    const text = await reading;
    controller.abort();
    assert.doesNotMatch(text, /old-/, "events before the connection are not replayed");
    assert.match(text, /event: enqueued\ndata: \{"taskId":3,"name":"new-1"/);

    // Resuming after old-1 replays old-2 and new-1, and nothing before.
    const all = await app.request("/queue/events", { headers: { "last-event-id": "x" } });
    const replayed = await readEvents(all, (t) => t.includes("new-1"));
    const firstId = /^id: (.+)$/m.exec(replayed)![1]!;
    const resumed = await app.request("/queue/events", { headers: { "last-event-id": firstId } });
    const after = await readEvents(resumed, (t) => t.includes("new-1"));
    assert.doesNotMatch(after, /old-1/);
    assert.match(after, /old-2[\s\S]*new-1/);
    await queue.close();
  });

  test("events logged while the stream writes one are sent without waiting for another", async () => {
    // Fake sleeps: a stream that waited for the next event (or its keep-alive) would never end.
    const clock = new FakeClock();
    const queue = await TaskQueue.open(":memory:", { clock: clock.clock });
    const app = createQueueApp(queue);
    const response = await app.request("/events");
    const reading = readEvents(response, (text) => text.includes('"name":"c"'));
    await queue.enqueueMany([{ name: "a", taskType: "t" }]);
    await queue.enqueueMany([{ name: "b", taskType: "t" }, { name: "c", taskType: "t" }]);
    const text = await reading;
    assert.deepEqual([...text.matchAll(/"name":"(\w)"/g)].map((m) => m[1]), ["a", "b", "c"]);
    assert.doesNotMatch(text, /keep-alive/);
    await queue.close();
  });

  test("OpenAPI: an operationId per operation, bodies as component schemas, servers at the mount", async () => {
    const { queue, send } = await setup();
    // deno-lint-ignore no-explicit-any
    const doc: any = (await send("GET", "/openapi.json")).json;
    assert.deepEqual(doc.servers, [{ url: "/queue" }]);
    const operations = Object.values(doc.paths).flatMap((path) =>
      Object.values(path as Record<string, { operationId: string }>)
    );
    const ids = operations.map((operation) => operation.operationId);
    assert.equal(ids.length, ROUTES.length);
    assert.ok(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id)), ids.join());
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
    assert.equal(doc.paths["/tasks"].post.operationId, "enqueueTask");
    const schemas = doc.components.schemas;
    const body = doc.paths["/tasks"].post.requestBody.content["application/json"].schema;
    assert.deepEqual(body, { $ref: "#/components/schemas/EnqueueBody" });
    assert.deepEqual(schemas.EnqueueBody.required.sort(), ["name", "taskType"]);
    assert.deepEqual(schemas.EnqueueManyBody.properties.tasks.items, {
      $ref: "#/components/schemas/EnqueueBody",
    });
    // Every reference resolves, and the error codes are the API's.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)];
    assert.ok(refs.length > ROUTES.length);
    for (const [, name] of refs) assert.ok(schemas[name!], `${name} is defined`);
    assert.deepEqual(schemas.Error.properties.error.properties.code.enum, [...ERROR_CODES]);
    assert.equal(
      doc.paths["/tasks"].post.responses["415"].content["application/json"].schema.$ref,
      "#/components/schemas/Error",
    );
    const bare = createQueueApp(queue);
    const unmounted = await (await bare.request("/openapi.json")).json();
    assert.deepEqual(unmounted.servers, [{ url: "/" }]);
    await queue.close();
  });
});
