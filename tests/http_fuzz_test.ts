import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Hono } from "hono";
import { TaskQueue } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { ROUTES } from "../src/http/_openapi.ts";

const TOKEN = "fuzz-write-token";

/** Everything a rejected request must leave untouched. */
async function snapshot(queue: TaskQueue): Promise<string> {
  const tasks = await Promise.all(
    (["pending", "running", "completed", "failed", "cancelled"] as const).map((status) =>
      queue.getTasksByStatus(status, 1000)
    ),
  );
  return JSON.stringify([tasks, await queue.getSchedules(), await queue.getControls()]);
}

/** Plausible bodies per route, mutated: the ones that almost validate are the interesting ones. */
const nearValid = fc.oneof(
  fc.record(
    {
      name: fc.oneof(fc.string(), fc.constant(""), fc.integer()),
      taskType: fc.oneof(fc.string({ maxLength: 250 }), fc.constant(null)),
      payload: fc.oneof(fc.jsonValue(), fc.anything()),
      priority: fc.oneof(fc.integer({ min: -2, max: 6 }), fc.string(), fc.double()),
      scheduledAt: fc.oneof(fc.integer(), fc.string(), fc.date().map((d) => String(d))),
      maxRetries: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double()),
      uniqueKey: fc.oneof(fc.string(), fc.integer()),
      timeoutMs: fc.oneof(fc.integer(), fc.constant(0)),
      retry: fc.oneof(fc.record({ type: fc.string(), delayMs: fc.integer() }), fc.anything()),
      tasks: fc.array(fc.anything(), { maxLength: 3 }),
      attempts: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string()),
      result: fc.anything(),
      error: fc.oneof(fc.string(), fc.integer()),
      cron: fc.oneof(fc.constantFrom("* * * * *", "61 * * * *", "bad"), fc.string()),
      timezone: fc.oneof(fc.constantFrom("UTC", "Mars/Base"), fc.string()),
      concurrency: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(null)),
      rate: fc.anything(),
      ids: fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }),
      limit: fc.oneof(fc.integer({ min: -1, max: 200 }), fc.string()),
      waitMs: fc.constantFrom(-1, 1e9, "1", 0.5), // never a valid wait: no request sleeps
      progress: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);

const body = fc.oneof(
  nearValid.map((value) => {
    try {
      return JSON.stringify(value);
    } catch {
      return "{}";
    }
  }),
  fc.string(),
  fc.constantFrom("", "{", "null", "[]", '{"__proto__":{"x":1}}', "\u0000", "{}".repeat(10)),
  fc.constant(JSON.stringify({ name: "big", taskType: "t", payload: "x".repeat(5000) })),
);

const routes = ROUTES.filter((r) => r.path !== "/events");
const segment = fc.oneof(
  fc.constantFrom("1", "0", "-1", "abc", "1.5", "99999999999999999999", "%00", "..", ""),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const request = fc.record({
  route: fc.constantFrom(...routes),
  method: fc.oneof(fc.constant(null), fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH")),
  params: fc.array(segment, { minLength: 2, maxLength: 2 }),
  query: fc.oneof(
    fc.constant(""),
    fc.dictionary(
      fc.constantFrom("status", "limit", "offset", "q", "access_token", "x"),
      fc.oneof(fc.string(), fc.constantFrom("pending", "failed", "-1", "5", "1e3")),
    ).map((q) => new URLSearchParams(q as Record<string, string>).toString()),
  ),
  body: fc.option(body),
  contentType: fc.constantFrom(
    "application/json",
    "text/plain",
    "",
    "application/json; charset=utf-8",
  ),
  auth: fc.constantFrom("good", "good", "none", "bad", "basic", "empty"),
});

test("thousands of random and malformed requests: no 5xx, and a rejected one changes nothing", async () => {
  const queue = await TaskQueue.open(":memory:");
  const app = new Hono().route(
    "/queue",
    createQueueApp(queue, { auth: { writeTokens: [TOKEN] }, bodyLimitBytes: 4096 }),
  );
  // Some state for the requests to act on.
  await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
  await queue.dequeue();
  let statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      let i = 0;
      const path = r.route.path.replace(/:\w+/g, () => r.params[i++]!) +
        (r.query ? `?${r.query}` : "");
      const method = r.method ?? r.route.method.toUpperCase();
      const headers: Record<string, string> = {};
      if (r.contentType) headers["content-type"] = r.contentType;
      if (r.auth === "good") headers.authorization = `Bearer ${TOKEN}`;
      if (r.auth === "bad") headers.authorization = "Bearer not-the-token";
      if (r.auth === "basic") headers.authorization = "Basic dXNlcjpwYXNz";
      if (r.auth === "empty") headers.authorization = "Bearer";
      const before = await snapshot(queue);
      let response: Response;
      try {
        response = await app.request(`/queue${path}`, {
          method,
          headers,
          ...(r.body !== null && method !== "GET" ? { body: r.body } : {}),
        });
      } catch (error) {
        // A request the Fetch API itself refuses (such as a header it cannot carry) never reaches us.
        if (error instanceof TypeError) return;
        throw error;
      }
      await response.body?.cancel();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.ok(response.status < 500, `${method} ${path} → ${response.status}`);
      if (response.status >= 400) {
        assert.equal(await snapshot(queue), before, `${method} ${path} → ${response.status} wrote`);
      }
    }),
    { numRuns: 3000 },
  );
  console.log(`statuses seen: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  for (const status of [200, 400, 401, 404, 413]) {
    assert.ok(statuses.has(status), `the fuzz reached status ${status}`);
  }
  statuses = new Map();
  await queue.close();
});
