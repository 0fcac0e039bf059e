// The HTTP routes the dashboard acts through (issue 14): the history, the list's filters and
// order, bulk cancel by filter, pruning, promote, running and pausing a schedule, the login form
// in place of a raw 401, and bad input refused with nothing changed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { TaskQueue } from "../mod.ts";
import { createQueueApp, type QueueAppOptions } from "../hono.ts";
import { FakeClock } from "./_helpers.ts";

const HOUR = 3_600_000;

async function setup(options: QueueAppOptions = {}) {
  const clock = new FakeClock();
  const queue = await TaskQueue.open(":memory:", { clock: clock.fn });
  const app = new Hono().route("/queue", createQueueApp(queue, options));
  const send = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await app.request(`/queue${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON */ }
    // deno-lint-ignore no-explicit-any
    return { status: response.status, json: json as any, text, headers: response.headers };
  };
  return { queue, clock, send };
}

describe("HTTP routes of the dashboard's actions", () => {
  test("GET /history answers the window's points, percentiles and totals", async () => {
    const { queue, send } = await setup();
    await queue.enqueue({ name: "x", taskType: "t" });
    await queue.completeTask((await queue.dequeue())!);
    const hour = await send("GET", "/history");
    assert.equal(hour.status, 200);
    assert.equal(hour.json.points.length, 60);
    assert.deepEqual(hour.json.totals, [{
      taskType: "t",
      counts: { completed: 1, failed: 0, dead: 0, cancelled: 0 },
    }]);
    const day = await send("GET", "/history?windowMs=86400000&stepMs=600000");
    assert.equal(day.json.points.length, 144);
    assert.equal((await send("GET", "/history?stepMs=90000")).status, 400);
    assert.equal((await send("GET", "/history?windowMs=1")).status, 400);
    await queue.close();
  });

  test("GET /tasks filters by type, priority, due and search, and sorts", async () => {
    const { queue, clock, send } = await setup();
    const [a, b, c] = await queue.enqueueMany([
      { name: "b-task", taskType: "email", priority: 3 },
      { name: "a-task", taskType: "sms", payload: { to: "needle" } },
      { name: "c-task", taskType: "email", scheduledAt: clock.now + HOUR },
    ]);
    const ids = async (query: string) =>
      (await send("GET", `/tasks?status=pending&${query}`)).json.tasks.map((t: { id: number }) =>
        t.id
      );
    assert.deepEqual(await ids("taskType=email"), [a, c]);
    assert.deepEqual(await ids("priority=3"), [a]);
    assert.deepEqual(await ids("due=ready"), [a, b]);
    assert.deepEqual(await ids("due=scheduled"), [c]);
    assert.deepEqual(await ids("q=needle"), [b]);
    assert.deepEqual(await ids(`q=${c}`), [c]);
    assert.deepEqual(await ids("sort=name&order=desc"), [c, a, b]);
    for (const bad of ["priority=9", "due=soon", "sort=payload", "order=up"]) {
      assert.equal((await send("GET", `/tasks?status=pending&${bad}`)).status, 400, bad);
    }
    await queue.close();
  });

  test("bulk cancel by filter, prune, promote; bad bodies change nothing", async () => {
    const { queue, clock, send } = await setup();
    const [a, b, later] = await queue.enqueueMany([
      { name: "a", taskType: "email" },
      { name: "b", taskType: "sms" },
      { name: "later", taskType: "sms", scheduledAt: clock.now + HOUR },
    ]);
    assert.equal((await send("POST", "/tasks/cancel-pending", { taskType: 7 })).status, 400);
    assert.equal((await send("POST", "/tasks/cancel-pending", { limit: 0 })).status, 400);
    assert.equal((await queue.getQueueStats()).pending, 3, "nothing changed");
    const cancelled = await send("POST", "/tasks/cancel-pending", { taskType: "email" });
    assert.deepEqual(cancelled.json, { ids: [a], count: 1 });

    const promoted = await send("POST", `/tasks/${later}/promote`);
    assert.equal(promoted.status, 200);
    assert.equal(promoted.json.scheduledAt, clock.now);
    assert.equal((await send("POST", `/tasks/${later}/promote`)).status, 409, "due already");
    assert.equal((await send("POST", "/tasks/999/promote")).status, 404);

    assert.equal((await send("POST", "/tasks/prune", { olderThanMs: -1 })).status, 400);
    const pruned = await send("POST", "/tasks/prune", {
      olderThanMs: 0,
      statuses: ["cancelled"],
    });
    assert.deepEqual(pruned.json, { deleted: 1 });
    assert.equal(await queue.getTask(a!), null);
    assert.equal((await queue.getTask(b!))?.status, "pending");
    await queue.close();
  });

  test("a schedule runs now, pauses and resumes over HTTP; a missing one is a 404", async () => {
    const { queue, send } = await setup();
    await queue.schedule("nightly", "0 3 * * *", { taskType: "report" });
    const run = await send("POST", "/schedules/nightly/run");
    assert.equal(run.status, 201);
    assert.equal((await queue.getTask(run.json.id))?.taskType, "report");
    assert.equal((await send("POST", "/schedules/nightly/pause")).json.paused, true);
    assert.equal((await queue.getSchedules())[0]!.paused, true);
    assert.equal((await send("POST", "/schedules/nightly/resume")).json.paused, false);
    for (const path of ["run", "pause", "resume"]) {
      assert.equal((await send("POST", `/schedules/missing/${path}`)).status, 404, path);
    }
    await queue.close();
  });

  test("the dashboard asks for a token with a form; a read token's page has no actions", async () => {
    const auth = { readTokens: ["read-token-0123456789"], writeTokens: ["write-token-0123456789"] };
    const { queue, send } = await setup({ auth });
    const login = await send("GET", "");
    assert.equal(login.status, 401);
    assert.match(login.headers.get("content-type")!, /text\/html/);
    assert.match(login.text, /name="access_token"/);
    assert.doesNotMatch(login.text, /refused/);
    const wrong = await send("GET", "?access_token=nope-nope-nope-nope");
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /That token was refused/);
    const read = await send("GET", "?access_token=read-token-0123456789");
    assert.equal(read.status, 200);
    assert.match(read.text, /"canWrite":false/);
    const write = await send("GET", "", undefined, "write-token-0123456789");
    assert.match(write.text, /"canWrite":true/);
    // The actions themselves still need a write token.
    assert.equal(
      (await send("POST", "/tasks/cancel-pending", {}, "read-token-0123456789")).status,
      403,
    );
    await queue.close();
  });
});
