/**
 * The dashboard's Explain panel and Workers view in a real browser (headless Chromium driven by
 * playwright-core, as in `dashboard_browser_test.ts`, whose harness this copies). Skips (and says
 * so) without /usr/bin/chromium.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test, type TestContext } from "node:test";
import { Hono } from "hono";
import type { Browser, Page } from "playwright-core";
import { TaskQueue } from "../mod.ts";
import { createQueueApp, type QueueAppOptions } from "../hono.ts";
import { serve } from "../src/http/serve.ts";
import { RUNTIME, tempDir } from "./_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WAIT_MS = 15_000;

/** Prints a SKIP line and skips the test. */
function skip(t: TestContext, reason: string): void {
  console.log(`SKIP dashboard browser test on ${RUNTIME}: ${reason}`);
  t.skip(reason);
}

/** Launches Chromium, or returns why this machine or runtime cannot. */
async function launch(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (error) {
    return `playwright-core does not load on ${RUNTIME}: ${error}`;
  }
  // playwright-core drives Chromium under Node, Bun and Deno alike (tried on each); a launch
  // failure is a real failure, not a skip.
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** Polls `read` until `ok` holds; fails with the last value read. */
async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean) {
  const deadline = Date.now() + WAIT_MS;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) assert.fail(`${what}: page shows ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
}

/** Waits until the element with `data-testid` has exactly `text`. */
function waitText(page: Page, testId: string, text: string): Promise<void> {
  const locator = page.getByTestId(testId).first();
  return until(
    `expected ${testId} to be ${JSON.stringify(text)}`,
    () => locator.textContent({ timeout: 1000 }).then((t) => t?.trim() ?? null, () => null),
    (actual) => actual === text,
  );
}

/** Runs `body` with a queue on a temp file, the app served on a free port, and a browser page. */
async function withDashboard(
  t: TestContext,
  appOptions: QueueAppOptions,
  body: (ctx: { queue: TaskQueue; page: Page; url: string; problems: string[] }) => Promise<void>,
): Promise<void> {
  const launched = await launch();
  if (typeof launched === "string") return skip(t, launched);
  const browser = launched;
  const tmp = tempDir();
  let queue: TaskQueue | null = null;
  let server: Awaited<ReturnType<typeof serve>> | null = null;
  try {
    queue = await TaskQueue.open(tmp.file("dashboard.db"));
    const app = new Hono().route("/queue", createQueueApp(queue, appOptions));
    server = await serve(app.fetch, { port: 0, hostname: "127.0.0.1" });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") {
        problems.push(`console error: ${message.text()} (${message.location().url})`);
      }
    });
    await body({ queue, page, url: `http://127.0.0.1:${server.port}/queue`, problems });
  } finally {
    await browser.close();
    await server?.close({ timeoutMs: 500 });
    await queue?.close();
    tmp.cleanup();
  }
}

describe("dashboard: why isn't it running", () => {
  test("the task detail explains a paused task; the Workers view lists the registry", async (t) => {
    await withDashboard(t, {}, async ({ queue, page, url, problems }) => {
      const id = await queue.enqueue({ name: "Monthly report", taskType: "report" });
      await queue.pause("report");
      await queue.registerWorker({
        id: "box-1",
        host: "box",
        pid: 7,
        runtime: "deno 2.0.0",
        taskTypes: ["email"],
        concurrency: 2,
        startedAt: Date.now(),
        beatIntervalMs: 60_000,
      });
      await page.goto(`${url}/#status=pending&task=${id}`);
      const reasons = page.getByTestId("explain-reasons").locator("li");
      await until(
        "the explain reasons",
        () => reasons.evaluateAll((items) => items.map((li) => li.getAttribute("data-code"))),
        (codes) => JSON.stringify(codes) === JSON.stringify(["type_paused", "no_worker"]),
      );
      await waitText(page, "explain-runnable", "Not runnable now");
      await waitText(page, "worker-state-box-1", "alive");
      await waitText(page, "workers-count", "1 alive");
      await queue.resume("report");
      await queue.registerWorker({
        id: "box-2",
        taskTypes: null,
        concurrency: 1,
        startedAt: Date.now(),
        beatIntervalMs: 60_000,
      });
      // The panel reads again while it is open: nothing holds the task back now.
      await waitText(page, "explain-runnable", "A claim may take it now: nothing holds it back");
      await waitText(page, "workers-count", "2 alive");
      assert.deepEqual(problems, []);
    });
  });
});
