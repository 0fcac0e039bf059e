import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { type Task, TaskQueue, TaskStatus } from "../mod.ts";
import { createQueueApp, openApiDocument, type QueueAppOptions } from "../hono.ts";
import { ROUTES } from "../src/http/_openapi.ts";
import { FakeClock } from "./_helpers.ts";

const READ = "read-token-123";
const WRITE = "write-token-456";

async function setup(options: QueueAppOptions = {}) {
  const clock = new FakeClock();
  const queue = await TaskQueue.open(":memory:", {
    clock: clock.fn,
    backoff: { baseMs: 1000, jitter: 0 },
  });
  const app = new Hono().route("/queue", createQueueApp(queue, options));
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await app.request(`/queue${path}`, init);
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    // deno-lint-ignore no-explicit-any
    return { status: response.status, json: json as any, headers: response.headers };
  };
  return { queue, clock, app, call };
}

describe("HTTP API: tasks", () => {
  test("enqueue one, get it, list it, stats", async () => {
    const { queue, call } = await setup();
    const created = await call("POST", "/tasks", {
      name: "Send welcome email",
      taskType: "send_email",
      payload: { to: "a@b.c" },
      priority: 3,
      scheduledAt: "2020-01-01T00:00:00.000Z",
    });
    assert.equal(created.status, 201);
    assert.equal(created.json.task.scheduledAt, Date.parse("2020-01-01T00:00:00.000Z"));
    const id = created.json.id;
    const got = await call("GET", `/tasks/${id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.payload, { to: "a@b.c" });
    const list = await call("GET", "/tasks?status=pending&limit=10&offset=0");
    assert.deepEqual(list.json.tasks.map((t: Task) => t.id), [id]);
    assert.equal(list.json.limit, 10);
    assert.deepEqual((await call("GET", "/stats")).json, {
      pending: 1,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    await queue.close();
  });

  test("lists paginate and search by name or type", async () => {
    const { queue, call } = await setup();
    await queue.enqueueMany([
      { name: "Resize cat.jpg", taskType: "image" },
      { name: "Email Ada", taskType: "email" },
      { name: "Resize 100%_dog.jpg", taskType: "image" },
    ]);
    const search = await call("GET", "/tasks?status=pending&q=RESIZE");
    assert.deepEqual(search.json.tasks.map((t: Task) => t.name), [
      "Resize cat.jpg",
      "Resize 100%_dog.jpg",
    ]);
    const literal = await call("GET", "/tasks?status=pending&q=100%25_");
    assert.deepEqual(literal.json.tasks.map((t: Task) => t.name), ["Resize 100%_dog.jpg"]);
    const byType = await call("GET", "/tasks?status=pending&q=email");
    assert.equal(byType.json.tasks.length, 1);
    const page = await call("GET", "/tasks?status=pending&limit=2&offset=2");
    assert.deepEqual(page.json.tasks.map((t: Task) => t.id), [3], "pending: in claim order");
    await queue.close();
  });

  test("enqueue many is all or nothing", async () => {
    const { queue, call } = await setup();
    const ok = await call("POST", "/tasks/batch", {
      tasks: [{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }],
    });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json.ids, [1, 2]);
    const bad = await call("POST", "/tasks/batch", {
      tasks: [{ name: "c", taskType: "t" }, { name: "", taskType: "t" }],
    });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /tasks\.1\.name must not be empty/);
    assert.equal((await queue.getQueueStats()).pending, 2);
    await queue.close();
  });

  test("Idempotency-Key maps to uniqueKey", async () => {
    const { queue, call } = await setup();
    const first = await call("POST", "/tasks", { name: "a", taskType: "t" }, {
      "idempotency-key": "order-42",
    });
    const again = await call("POST", "/tasks", { name: "a", taskType: "t" }, {
      "idempotency-key": "order-42",
    });
    assert.equal(again.json.id, first.json.id);
    assert.equal(first.json.task.uniqueKey, "order-42");
    const clash = await call("POST", "/tasks", { name: "a", taskType: "t", uniqueKey: "x" }, {
      "idempotency-key": "y",
    });
    assert.equal(clash.status, 400);
    assert.equal((await queue.getQueueStats()).pending, 1);
    await queue.close();
  });

  test("cancel and retry, with 404 and 409", async () => {
    const { queue, call } = await setup();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    assert.equal((await call("POST", `/tasks/${id}/retry`)).status, 409);
    const cancelled = await call("POST", `/tasks/${id}/cancel`);
    assert.equal(cancelled.json.status, TaskStatus.CANCELLED);
    const again = await call("POST", `/tasks/${id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, "conflict");
    assert.match(again.json.error.message, /Cannot cancel task 1: it is cancelled/);
    assert.equal((await call("POST", `/tasks/${id}/retry`)).json.status, TaskStatus.PENDING);
    for (const path of ["/tasks/77", "/tasks/77/cancel", "/tasks/77/retry"]) {
      const response = await call(path === "/tasks/77" ? "GET" : "POST", path);
      assert.equal(response.status, 404, path);
      assert.equal(response.json.error.code, "not_found");
    }
    assert.equal((await call("GET", "/tasks/0")).status, 400);
    assert.equal((await call("GET", "/tasks/1.5")).status, 400);
    await queue.close();
  });

  test("retry-failed redrives dead letters", async () => {
    const { queue, call } = await setup();
    await queue.enqueueMany([
      { name: "a", taskType: "email", maxRetries: 0 },
      { name: "b", taskType: "sms", maxRetries: 0 },
    ]);
    for (const task of await queue.dequeueMany(2)) await queue.failTask(task, "x");
    const redriven = await call("POST", "/tasks/retry-failed", { taskType: "email" });
    assert.deepEqual(redriven.json, { ids: [1], count: 1 });
    await queue.close();
  });
});

describe("HTTP API: controls, schedules, metrics, docs", () => {
  test("pause, resume, limits", async () => {
    const { queue, call } = await setup();
    const paused = await call("POST", "/pause", { taskType: "email" });
    assert.equal(paused.json[0].taskType, "email");
    assert.equal((await call("POST", "/pause", {})).json.length, 2);
    await call("POST", "/resume", {});
    const limited = await call("PUT", "/limits/api", { rate: { max: 5, intervalMs: 1000 } });
    assert.deepEqual(limited.json.find((c: { taskType: string }) => c.taskType === "api").rate, {
      max: 5,
      intervalMs: 1000,
    });
    assert.equal((await call("PUT", "/limits/api", { concurrency: 0 })).status, 400);
    assert.equal((await call("GET", "/controls")).json.length, 2);
    await queue.close();
  });

  test("per-key limits and a task's concurrency key", async () => {
    const { queue, call } = await setup();
    const limits = { concurrencyPerKey: 1, ratePerKey: { max: 3, intervalMs: 1000 } };
    const limited = await call("PUT", "/limits/sync", limits);
    assert.equal(limited.status, 200);
    const control = limited.json.find((c: { taskType: string }) => c.taskType === "sync");
    assert.deepEqual(
      { concurrencyPerKey: control.concurrencyPerKey, ratePerKey: control.ratePerKey },
      limits,
    );
    for (const bad of [{ concurrencyPerKey: 0 }, { ratePerKey: { max: 1, intervalMs: -1 } }]) {
      assert.equal((await call("PUT", "/limits/sync", bad)).status, 400, JSON.stringify(bad));
    }
    const created = await call("POST", "/tasks", {
      name: "s",
      taskType: "sync",
      concurrencyKey: "tenant-1",
    });
    assert.equal(created.status, 201);
    const task = await call("GET", `/tasks/${created.json.id}`);
    assert.equal(task.json.concurrencyKey, "tenant-1");
    const tooLong = { name: "s", taskType: "sync", concurrencyKey: "x".repeat(501) };
    assert.equal((await call("POST", "/tasks", tooLong)).status, 400);
    assert.equal((await queue.getQueueStats()).pending, 1);
    await queue.close();
  });

  test("schedules: put, list, delete", async () => {
    const { queue, call } = await setup();
    const put = await call("PUT", "/schedules/nightly", {
      cron: "0 3 * * *",
      taskType: "report",
      timezone: "Europe/Paris",
    });
    assert.equal(put.status, 200);
    assert.equal(put.json.name, "nightly");
    assert.equal((await call("GET", "/schedules")).json.length, 1);
    assert.equal(
      (await call("PUT", "/schedules/bad", { cron: "nope", taskType: "t" })).status,
      400,
    );
    assert.equal(
      (await call("PUT", "/schedules/bad", { cron: "99 * * * *", taskType: "t" })).status,
      400,
    );
    assert.equal((await call("DELETE", "/schedules/nightly")).status, 200);
    assert.equal((await call("DELETE", "/schedules/nightly")).status, 404);
    await queue.close();
  });

  test("metrics in Prometheus text and JSON", async () => {
    const { queue, call } = await setup();
    await queue.enqueue({ name: "n", taskType: "t" });
    const text = await call("GET", "/metrics");
    assert.match(text.headers.get("content-type")!, /text\/plain; version=0\.0\.4/);
    assert.match(text.json, /tasklite_tasks\{status="pending"\} 1/);
    assert.equal((await call("GET", "/metrics.json")).json.taskTypes.t.pending, 1);
    await queue.close();
  });

  test("the OpenAPI 3.1 document lists every route of the app, from the same schemas", async () => {
    const { queue, app, call } = await setup();
    // deno-lint-ignore no-explicit-any
    const doc: any = (await call("GET", "/openapi.json")).json;
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual({ ...doc }, openApiDocument("/queue"));
    const served = new Set(
      app.routes.filter((r) => r.method !== "ALL" && r.path !== "/queue")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/^\/queue/, "")}`),
    );
    const documented = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    assert.deepEqual([...served].sort(), [...documented].sort());
    const enqueue = doc.components.schemas.EnqueueBody;
    assert.deepEqual(enqueue.required.sort(), ["name", "taskType"]);
    assert.deepEqual(enqueue.properties.priority.enum, [1, 2, 3, 4]);
    assert.ok(
      doc.paths["/tasks/{id}"].get.parameters.some((p: { name: string }) => p.name === "id"),
    );
    await queue.close();
  });

  test("unknown routes are JSON 404s; malformed JSON is a 400 and writes nothing", async () => {
    const { queue, call } = await setup();
    const missing = await call("GET", "/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "not_found");
    const malformed = await call("POST", "/tasks", "{not json");
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.code, "bad_request");
    assert.equal((await queue.getQueueStats()).pending, 0);
    await queue.close();
  });

  test("bodies over the limit get 413 and write nothing", async () => {
    const { queue, call } = await setup({ bodyLimitBytes: 1024 });
    const big = await call("POST", "/tasks", {
      name: "n",
      taskType: "t",
      payload: "x".repeat(2000),
    });
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, "payload_too_large");
    assert.equal((await queue.getQueueStats()).pending, 0);
    await queue.close();
  });
});

describe("HTTP API: auth and CORS", () => {
  test("read and write scopes; 401 without or with a bad token, 403 for a read token writing", async () => {
    const { queue, call } = await setup({ auth: { readTokens: [READ], writeTokens: [WRITE] } });
    const anonymous = await call("GET", "/stats");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error.code, "unauthorized");
    assert.match(anonymous.headers.get("www-authenticate")!, /^Bearer/);
    assert.equal(
      (await call("GET", "/stats", undefined, { authorization: "Bearer wrong-token" })).status,
      401,
    );
    assert.equal(
      (await call("GET", "/stats", undefined, { authorization: `Bearer ${READ}` })).status,
      200,
    );
    assert.equal((await call("GET", `/stats?access_token=${READ}`)).status, 200);
    const forbidden = await call("POST", "/tasks", { name: "n", taskType: "t" }, {
      authorization: `Bearer ${READ}`,
    });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.json.error.code, "forbidden");
    assert.equal(
      (await call("POST", `/tasks?access_token=${WRITE}`, { name: "n", taskType: "t" })).status,
      401,
      "query tokens only for GET",
    );
    assert.equal((await queue.getQueueStats()).pending, 0);
    const ok = await call("POST", "/tasks", { name: "n", taskType: "t" }, {
      authorization: `bearer ${WRITE}`,
    });
    assert.equal(ok.status, 201);
    assert.equal((await call("GET", "/queue-nope")).status, 404);
    assert.equal((await call("GET", "")).status, 401, "the dashboard honours auth");
    assert.equal((await call("GET", `?access_token=${READ}`)).status, 200);
    assert.equal(
      (await call("POST", "/worker/claim", {}, { authorization: `Bearer ${READ}` })).status,
      403,
    );
    await queue.close();
  });

  test("tokens must be long enough", async () => {
    const queue = await TaskQueue.open(":memory:");
    assert.throws(
      () => createQueueApp(queue, { auth: { writeTokens: ["short"] } }),
      /8 characters/,
    );
    assert.throws(() => createQueueApp(queue, { auth: {} }), /at least one token/);
    await queue.close();
  });

  test("CORS is off unless configured", async () => {
    const off = await setup();
    const preflight = { origin: "https://app.example" };
    assert.equal(
      (await off.call("GET", "/stats", undefined, preflight)).headers.get(
        "access-control-allow-origin",
      ),
      null,
    );
    await off.queue.close();
    const on = await setup({ cors: { origin: "https://app.example" } });
    assert.equal(
      (await on.call("GET", "/stats", undefined, preflight)).headers.get(
        "access-control-allow-origin",
      ),
      "https://app.example",
    );
    await on.queue.close();
  });
});

describe("HTTP API: worker endpoints", () => {
  test("claim with a lease, heartbeat, progress, complete — fenced like in-process", async () => {
    const { queue, clock, call } = await setup();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const claimed = await call("POST", "/worker/claim", { leaseMs: 1000, workerId: "remote-1" });
    const task = claimed.json.tasks[0];
    assert.equal(task.id, id);
    assert.equal(task.workerId, "remote-1");
    clock.advance(500);
    const beat = await call("POST", `/worker/tasks/${id}/heartbeat`, { attempts: task.attempts });
    assert.equal(beat.json.leaseExpiresAt, clock.now + 1000);
    assert.equal(
      (await call("POST", `/worker/tasks/${id}/progress`, { attempts: 1, progress: 40 })).json
        .progress,
      40,
    );
    const stale = await call("POST", `/worker/tasks/${id}/complete`, { attempts: 9, result: "x" });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, "lease_lost");
    const done = await call("POST", `/worker/tasks/${id}/complete`, {
      attempts: 1,
      result: { ok: 1 },
    });
    assert.deepEqual(done.json.result, { ok: 1 });
    assert.equal((await call("POST", "/worker/tasks/99/complete", { attempts: 1 })).status, 404);
    await queue.close();
  });

  test("fail, release, cancellations, maintain", async () => {
    const { queue, call } = await setup();
    const [a, b] = await queue.enqueueMany([{ name: "a", taskType: "t" }, {
      name: "b",
      taskType: "t",
    }]);
    await call("POST", "/worker/claim", { limit: 2 });
    const failed = await call("POST", `/worker/tasks/${a}/fail`, {
      attempts: 1,
      error: "boom",
      retryDelayMs: 50,
    });
    assert.equal(failed.json.status, TaskStatus.PENDING);
    assert.equal(failed.json.error, "boom");
    await queue.cancelTask(b!);
    assert.deepEqual((await call("POST", "/worker/cancellations", { ids: [a, b] })).json.ids, [b]);
    const released = await call("POST", `/worker/tasks/${b}/release`, { attempts: 1 });
    assert.equal(released.json.status, TaskStatus.PENDING);
    assert.deepEqual((await call("POST", "/worker/maintain")).json, { scheduled: [], pruned: 0 });
    assert.equal((await call("POST", "/worker/tasks/1/fail", { attempts: 1 })).status, 400);
    await queue.close();
  });

  test("an idle claim long-polls and answers as soon as a task is enqueued", async () => {
    const queue = await TaskQueue.open(":memory:");
    const app = new Hono().route("/queue", createQueueApp(queue));
    const started = Date.now();
    const claim = app.request("/queue/worker/claim", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ waitMs: 10_000 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await queue.enqueue({ name: "late", taskType: "t" });
    const { tasks } = await (await claim).json();
    assert.equal(tasks[0].name, "late");
    assert.ok(Date.now() - started < 5_000, "answered on the enqueue, not at the timeout");
    await queue.close();
  });
});

describe("HTTP API: events", () => {
  test("Server-Sent Events carry queue events with resumable ids", async () => {
    const { queue, app } = await setup();
    const controller = new AbortController();
    const response = await app.request("/queue/events", { signal: controller.signal });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    assert.equal(text, ": connected\n\n", "a fresh stream replays nothing");
    await queue.enqueue({ name: "first", taskType: "t" });
    await queue.enqueue({ name: "second", taskType: "t" });
    while (!text.includes("second")) text += decoder.decode((await reader.read()).value);
    controller.abort();
    await reader.cancel().catch(() => {});
    const ids = [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!);
    assert.equal(ids.length, 2);
    assert.match(text, /event: enqueued\ndata: \{"taskId":1,"name":"first"/);

    const resumed = await app.request("/queue/events", { headers: { "last-event-id": ids[0]! } });
    const resumedReader = resumed.body!.getReader();
    let after = "";
    while (!after.includes("second")) after += decoder.decode((await resumedReader.read()).value);
    await resumedReader.cancel().catch(() => {});
    assert.doesNotMatch(after, /"first"/, "events before Last-Event-ID are not sent again");
    await queue.close();
  });

  test("an idle stream opens at once with a comment (Bun sends no headers before a byte)", async () => {
    const { queue, app } = await setup();
    const controller = new AbortController();
    const response = await app.request("/queue/events", { signal: controller.signal });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.equal(first, ": connected\n\n");
    controller.abort();
    await reader.cancel().catch(() => {});
    await queue.close();
  });
});
