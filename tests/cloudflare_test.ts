/**
 * tasklite on Cloudflare, in `wrangler dev` (workerd, offline): the example in
 * `examples/cloudflare/` runs tasks from its Durable Object's alarm and serves the API, SSE and
 * dashboard, with its tasks kept across a restart; the conformance suite passes inside workerd on
 * a real Durable Object's storage, but for the gaps listed here; the Worker's bundle imports only
 * builtins workerd has.
 *
 * wrangler comes from npm into a scratch folder (it needs Node 22, found or fetched with npx).
 * Where it cannot be installed, the tests skip, saying why (`SKIP cloudflare: wrangler …`), and CI
 * fails on that line. They run once, under Deno: they drive wrangler's processes, the same
 * whatever runtime runs the test.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { HttpWorker } from "../mod.ts";
import { RUNTIME } from "./_helpers.ts";
import { type Dev, installWrangler, ROOT, type Wrangler } from "./_wrangler.ts";

const EXAMPLE = join(ROOT, "examples", "cloudflare", "wrangler.jsonc");
const CONFORMANCE = join(ROOT, "tests", "fixtures", "cloudflare_conformance", "wrangler.jsonc");

/** Conformance tests that cannot run inside one Durable Object, and why. */
const WORKERD_GAPS: Record<string, string> = {
  "the default lease is 30 s and the queue's leaseMs option changes it":
    "it keeps two fresh queues open at once: one Durable Object has one storage",
};

/** The builtins workerd provides under nodejs_compat that the bundle may import statically. */
const WORKERD_BUILTINS = ["buffer", "crypto", "events", "fs", "stream"];

const READ = "read-token-0123";
const WRITE = "write-token-0123";

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** A JSON request to `dev`, with a bearer token (`null`: none). */
async function call(
  dev: Dev,
  path: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<Answer> {
  const { method = "GET", body, token = WRITE } = init;
  const response = await fetch(dev.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (the dashboard's HTML)
  }
  return { status: response.status, body: parsed };
}

/** Polls `read` until `done` says yes (a minute at most); returns the last answer. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const stats = async (dev: Dev, base = "") => (await call(dev, `${base}/stats`)).body;

if (RUNTIME !== "deno") {
  const reason = `runs once, under Deno (this is ${RUNTIME}): it drives wrangler's processes`;
  console.log(`SKIP cloudflare_test: ${reason}`);
  test(
    "Cloudflare: the example and the conformance suite in wrangler dev",
    { skip: reason },
    () => {},
  );
} else {
  const installed = installWrangler();
  if ("skip" in installed) {
    console.log(`SKIP cloudflare: wrangler: ${installed.skip}`);
    test("Cloudflare: the example and the conformance suite in wrangler dev", {
      skip: `wrangler: ${installed.skip}`,
    }, () => {});
  } else {
    describeCloudflare(installed);
  }
}

function describeCloudflare(wrangler: Wrangler): void {
  describe("Cloudflare, in wrangler dev", () => {
    after(() => wrangler.cleanup());

    test("the example runs tasks from its alarm, serves the API, and keeps them across a restart", async () => {
      const vars = {
        TASKLITE_READ_TOKEN: READ,
        TASKLITE_WRITE_TOKEN: WRITE,
        TASKLITE_ALARM_BUDGET_MS: "500",
      };
      let dev = await wrangler.dev(EXAMPLE, { vars });
      try {
        // The same auth options as anywhere: no token 401, a read token may not write.
        assert.equal((await call(dev, "/stats", { token: null })).status, 401);
        assert.equal((await call(dev, "/stats", { token: READ })).status, 200);
        const refused = await call(dev, "/tasks", {
          method: "POST",
          token: READ,
          body: { name: "no", taskType: "echo" },
        });
        assert.equal(refused.status, 403);

        const now = Date.now();
        const echoes = await call(dev, "/tasks/batch", {
          method: "POST",
          body: {
            tasks: Array.from({ length: 30 }, (_, i) => ({
              name: `echo ${i}`,
              taskType: "echo",
              payload: { i, text: "héllo" },
            })),
          },
        });
        assert.equal(echoes.status, 201, JSON.stringify(echoes.body));
        const flaky = await call(dev, "/tasks", {
          method: "POST",
          body: { name: "flaky", taskType: "flaky", payload: { succeedOnAttempt: 3 } },
        });
        const dead = await call(dev, "/tasks", {
          method: "POST",
          body: {
            name: "dead",
            taskType: "flaky",
            payload: { succeedOnAttempt: 9 },
            maxRetries: 0,
          },
        });
        const soon = await call(dev, "/tasks", {
          method: "POST",
          body: { name: "soon", taskType: "echo", payload: "soon", scheduledAt: now + 2000 },
        });
        const later = await call(dev, "/tasks", {
          method: "POST",
          body: { name: "later", taskType: "echo", scheduledAt: now + 3_600_000 },
        });
        // 16 tasks of 300 ms, 8 at a time, against a 500 ms budget: several alarms in a row.
        await call(dev, "/tasks/batch", {
          method: "POST",
          body: {
            tasks: Array.from({ length: 16 }, (_, i) => ({
              name: `sleep ${i}`,
              taskType: "sleep",
              payload: { ms: 300 },
            })),
          },
        });

        const expected = { pending: 1, running: 0, completed: 48, failed: 1, cancelled: 0 };
        const final = await until(() => stats(dev), (s) => s.completed === 48 && s.failed === 1);
        assert.deepEqual(final, expected, dev.output().slice(-3000));

        const first = await call(dev, `/tasks/${echoes.body.ids[0]}`);
        assert.deepEqual(first.body.result, { i: 0, text: "héllo" }, "echo returns its payload");
        const retried = (await call(dev, `/tasks/${flaky.body.id}`)).body;
        assert.equal(retried.status, "completed");
        assert.equal(retried.attempts, 3, "two failed attempts, retried with backoff by alarms");
        assert.deepEqual(retried.result, { attempt: 3 });
        const letter = (await call(dev, `/tasks/${dead.body.id}`)).body;
        assert.equal(letter.status, "failed");
        assert.match(letter.error, /attempt 1 fails/);
        const scheduled = (await call(dev, `/tasks/${soon.body.id}`)).body;
        assert.equal(scheduled.status, "completed");
        assert.ok(scheduled.startedAt >= now + 2000, "not before its time");
        assert.equal((await call(dev, `/tasks/${later.body.id}`)).body.status, "pending");

        const completed = await call(dev, "/tasks?status=completed&limit=100");
        assert.equal(completed.body.tasks.length, 48);
        const failed = await call(dev, "/tasks?status=failed");
        assert.deepEqual(failed.body.tasks.map((t: { id: number }) => t.id), [dead.body.id]);

        const alarms = [...dev.output().matchAll(/tasklite alarm: (\{.*\})/g)].map((m) =>
          JSON.parse(m[1]!)
        );
        assert.ok(alarms.length >= 3, `several alarms ran: ${alarms.length}`);
        assert.ok(alarms.some((run) => run.exhausted), "a budget ran out and the work went on");
        assert.equal(alarms.reduce((sum, run) => sum + run.ran, 0), 48 + 2 + 1, "every attempt");

        // One queue per object name, each with its own storage and alarm.
        const other = await call(dev, "/queues/other/tasks", {
          method: "POST",
          body: { name: "elsewhere", taskType: "echo", payload: 1 },
        });
        assert.equal(other.status, 201);
        const otherStats = await until(() => stats(dev, "/queues/other"), (s) => s.completed === 1);
        assert.equal(otherStats.completed, 1);
        assert.equal((await stats(dev)).completed, 48, "the default queue did not see it");

        // The dashboard and the event stream, from the Durable Object.
        const page = await call(dev, "/queues/other", { token: READ });
        assert.equal(page.status, 200);
        assert.match(String(page.body), /data-api-base="\/queues\/other"/);
        const events = await fetch(`${dev.url}/events`, {
          headers: { authorization: `Bearer ${READ}` },
        });
        assert.equal(events.headers.get("content-type"), "text/event-stream");
        const reader = events.body!.getReader();
        let stream = "";
        const read = async (pattern: RegExp) => {
          const deadline = Date.now() + 30_000;
          while (!pattern.test(stream)) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            const late = new Promise<{ done: true; value?: undefined }>((resolve) =>
              timer = setTimeout(() => resolve({ done: true }), Math.max(0, deadline - Date.now()))
            );
            const { value, done } = await Promise.race([reader.read(), late]);
            clearTimeout(timer);
            if (done) assert.fail(`no ${pattern} on /events within 30 s:\n${stream}`);
            stream += new TextDecoder().decode(value);
          }
          return stream;
        };
        assert.match(await read(/connected/), /connected/);
        const live = await call(dev, "/tasks", {
          method: "POST",
          body: { name: "watched", taskType: "echo", payload: "seen" },
        });
        // The alarm runs it in the same object: its events reach the stream.
        await read(new RegExp(`event: completed\ndata: [^\n]*"id":${live.body.id}(?![0-9])`));
        assert.match(
          stream,
          new RegExp(`event: enqueued\ndata: [^\n]*"taskId":${live.body.id}(?![0-9])`),
        );
        await reader.cancel();

        // A remote worker over HTTP runs the tasks the object has no handler for.
        const remote = await call(dev, "/tasks", {
          method: "POST",
          body: { name: "remote", taskType: "remote", payload: { n: 2 } },
        });
        const worker = new HttpWorker({
          url: dev.url,
          token: WRITE,
          handlers: { remote: (payload: { n: number }) => ({ doubled: payload.n * 2 }) },
          pollIntervalMs: 100,
        });
        await worker.tick();
        const done = (await call(dev, `/tasks/${remote.body.id}`)).body;
        assert.equal(done.status, "completed");
        assert.deepEqual(done.result, { doubled: 4 });
        assert.equal(done.workerId, worker.id);

        // A restart: the same storage, the same tasks; the alarm still runs new ones.
        const before = await stats(dev);
        assert.deepEqual(before, { ...expected, completed: 50 });
        await dev.stop();
        dev = await wrangler.dev(EXAMPLE, { vars });
        assert.deepEqual(await stats(dev), before, "persisted");
        assert.deepEqual((await call(dev, `/tasks/${echoes.body.ids[0]}`)).body.result, {
          i: 0,
          text: "héllo",
        });
        assert.equal((await stats(dev, "/queues/other")).completed, 1);
        const after = await call(dev, "/tasks", {
          method: "POST",
          body: { name: "after restart", taskType: "echo", payload: "again" },
        });
        const ran = await until(
          () => call(dev, `/tasks/${after.body.id}`),
          (a) => a.body.status === "completed",
        );
        assert.equal(ran.body.result, "again");
      } finally {
        await dev.stop();
      }
    });

    test("the conformance suite passes inside workerd on a Durable Object's storage, but for its gaps", async () => {
      const dev = await wrangler.dev(CONFORMANCE, { state: "conformance" });
      try {
        const names: string[] = (await call(dev, "/names", { token: null })).body;
        assert.ok(names.length > 100, `the suite's tests: ${names.length}`);
        const failed: string[] = [];
        const gaps: string[] = [];
        let passed = 0;
        const run = String(Date.now());
        for (const name of names) {
          const query = new URLSearchParams({ name, run });
          const { body } = await call(dev, `/run?${query}`, { method: "POST", token: null });
          if (body?.status === "passed") passed++;
          else if (body?.status === "gap") gaps.push(name);
          else failed.push(`${name}: ${body?.detail ?? JSON.stringify(body)}`);
        }
        console.log(
          `workerd conformance: ${passed} passed, ${failed.length} failed, ${gaps.length} gaps (${
            gaps.join("; ")
          })`,
        );
        assert.deepEqual(failed, []);
        assert.deepEqual(gaps.sort(), Object.keys(WORKERD_GAPS).sort());

        // What the fake storage (the conformance suite's Durable Object engine everywhere else)
        // claims to share with the platform holds on the platform.
        const checks: string[] = (await call(dev, "/platform-names", { token: null })).body;
        assert.ok(checks.length >= 4, `platform checks: ${checks.length}`);
        for (const name of checks) {
          const query = new URLSearchParams({ name, run });
          const { body } = await call(dev, `/platform?${query}`, { method: "POST", token: null });
          assert.equal(body?.status, "passed", `${name}: ${body?.detail}`);
        }
        console.log(`workerd: the fake storage's ${checks.length} platform checks hold`);
      } finally {
        await dev.stop();
      }
    });

    test("the Worker's bundle imports only builtins workerd has, and loads the rest on demand", () => {
      const outdir = wrangler.bundle(EXAMPLE);
      const file = readdirSync(outdir).find((name) => name.endsWith(".js"));
      assert.ok(file, "a bundle");
      const code = readFileSync(join(outdir, file), "utf8");
      const staticImports = new Set(
        [...code.matchAll(/^import\s[^;]*?from\s*"node:([a-z_/]+)"/gm)].map((m) => m[1]!),
      );
      const extra = [...staticImports].filter((name) => !WORKERD_BUILTINS.includes(name));
      assert.deepEqual(extra, [], `static node: imports workerd lacks: ${extra.join(", ")}`);
      // node:sqlite (file queues) loads only when used; node:worker_threads (isolated handlers)
      // too, or wrangler replaces it with its stub.
      assert.ok(code.includes(`import("node:sqlite")`), "node:sqlite is loaded on demand");
      assert.ok(!/^import\s[^;]*?from\s*"bun:/m.test(code), "no bun: import");
    });
  });
}
