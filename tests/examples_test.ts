import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runScript, RUNTIME } from "./_helpers.ts";

test("the seed demo tells the same story", async () => {
  const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
  const { code, stdout, stderr } = await runScript(join(root, "examples", "task_queue.ts"));
  assert.equal(code, 0, stderr);
  const expected = [
    "Task Queue System Demo",
    "📝 Enqueueing tasks...",
    "📝 Enqueued task #1: Send welcome email (priority: HIGH)",
    "📝 Enqueued task #2: Generate sales report (priority: HIGH)",
    "📝 Enqueued task #3: Process image 1 (priority: NORMAL)",
    "📝 Enqueued task #8: Scheduled cleanup (priority: NORMAL)",
    "📊 Initial Queue Stats:",
    "  pending: 8",
    "🚀 Starting workers...",
    "🔧 Worker started: Worker-1",
    "🔧 Worker started: Worker-2",
    "🔧 Worker started: Worker-3",
    "⚙️ Processing task #1: Send welcome email",
    "  📧 Sending email to user@example.com",
    "     Subject: Welcome!",
    "✅ Task #1 completed",
    "⚙️ Processing task #2: Generate sales report",
    "✅ Task #2 completed",
    "📊 Final Queue Stats:",
    "  completed: 7",
    "  pending: 1",
    "✅ Recently Completed Tasks:",
    "  #7: Send newsletter",
    "✅ Demo completed successfully!",
  ];
  const lines = stdout.split("\n");
  let at = 0;
  for (const line of expected) {
    const found = lines.indexOf(line, line.startsWith("⚙️") || line.startsWith("✅ Task") ? 0 : at);
    assert.ok(found >= 0, `missing line ${JSON.stringify(line)} in:\n${stdout}`);
    if (!line.startsWith("⚙️") && !line.startsWith("✅ Task")) at = found;
  }
  assert.ok(!stdout.includes("Processing task #8"), "the scheduled cleanup is not run early");
  assert.equal(lines.filter((line) => /^✅ Task #\d+ completed$/.test(line)).length, 7);
});

const example = (name: string) =>
  join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "examples", name);

test("examples/deno_cron.ts: one tick fires schedules and runs what is due", async () => {
  const { code, stdout, stderr } = await runScript(example("deno_cron.ts"), ["--once"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /tick: ran 1 task\(s\); next report at \d{4}-\d\d-\d\dT0[12]:00:00\.000Z/);
  assert.match(stdout, /completed: Warm the cache/);
});

test("examples/graceful_shutdown.ts: SIGTERM finishes the quick job, gives the long one back", async () => {
  const { code, stdout, stderr } = await runScript(example("graceful_shutdown.ts"), ["--demo"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /✅ Quick job: done/);
  assert.doesNotMatch(stdout, /✅ Long job: done/);
  assert.match(stdout, /🛑 stopped: 1 completed, 1 given back \(pending\)/);
});

test("examples/rate_limited_api.ts: 5 calls per second, 2 encodes at once", async () => {
  const { code, stdout, stderr } = await runScript(example("rate_limited_api.ts"));
  assert.equal(code, 0, stderr);
  const calls = [...stdout.matchAll(/^\s*(\d+) ms\s+🌐 API call/gm)].map((m) => Number(m[1]));
  assert.equal(calls.length, 12);
  for (let i = 0; i + 5 < calls.length; i++) {
    assert.ok(calls[i + 5]! - calls[i]! >= 900, `6 calls within a second: ${calls}`);
  }
  const encoding = [...stdout.matchAll(/\((\d) encoding\)/g)].map((m) => Number(m[1]));
  assert.equal(encoding.length, 4);
  assert.ok(encoding.every((n) => n <= 2), `encodes at once: ${encoding}`);
  assert.match(stdout, /✅ all 16 tasks completed/);
});

test("examples/typed_client.ts: hc<QueueApp> enqueues, reads and lists", async () => {
  const { code, stdout, stderr } = await runScript(example("typed_client.ts"));
  assert.equal(code, 0, stderr);
  assert.match(
    stdout,
    /enqueued task #1\ntask #1 is pending\npending: 1\nlisted: Send welcome email/,
  );
  assert.match(stdout, /an empty name gets 400/);
});

test("examples/remote_worker.ts: an HttpWorker runs tasks of a served queue", async () => {
  const { code, stdout, stderr } = await runScript(example("remote_worker.ts"), ["--demo"]);
  assert.equal(code, 0, stderr);
  for (const who of ["ada", "grace", "linus"]) {
    assert.match(stdout, new RegExp(`Email ${who}: \\{"sent":"${who}"\\} by worker-`));
  }
});

test("examples/remote_worker.ts without its URL prints its usage and exits 1", async () => {
  const { code, stdout, stderr } = await runScript(example("remote_worker.ts"));
  assert.equal(code, 1, stdout);
  assert.match(stderr, /^Usage: remote_worker\.ts <queue URL> \[token\]/);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
});

test("examples/bun_server.ts and deno_serve.ts: mounted in the runtime's own server", async (t) => {
  const name = RUNTIME === "bun" ? "bun_server.ts" : RUNTIME === "deno" ? "deno_serve.ts" : null;
  if (!name) {
    console.log("SKIP bun_server.ts / deno_serve.ts: they need Bun or Deno (running on node)");
    t.skip("needs Bun or Deno");
    return;
  }
  const { code, stdout, stderr } = await runScript(example(name), ["--demo"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /serving http:\/\/127\.0\.0\.1:\d+\/ \(app\) and .*\/queue/);
  assert.match(stdout, /task #1: completed, result \{"(sent|resized)":/);
});
