/**
 * The dashboard in a real browser: headless Chromium driven by playwright-core against the HTTP
 * app on a real port, over a queue on a real file. Skips (and says so) without /usr/bin/chromium.
 */

import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test, type TestContext } from "node:test";
import { Hono } from "hono";
import type { Browser, Page } from "playwright-core";
import { TaskQueue } from "../mod.ts";
import { createQueueApp, type QueueAppOptions } from "../hono.ts";
import { renderDashboard } from "../src/http/dashboard/page.ts";
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
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
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

/** The `data-testid`s of the task rows shown, in order. */
async function rowIds(page: Page): Promise<string[]> {
  const rows = page.locator('[data-testid^="task-row-"]');
  const ids: string[] = [];
  for (let i = 0, n = await rows.count(); i < n; i++) {
    ids.push(
      (await rows.nth(i).getAttribute("data-testid", { timeout: 1000 }).catch(() => "")) ?? "",
    );
  }
  return ids;
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

describe("renderDashboard", () => {
  test("escapes its options and trims the base path", async () => {
    const page = await renderDashboard({
      apiBase: '/q"><script>alert(1)</script>/',
      token: 'tok"en<',
      title: "<b>Jobs</b>",
    });
    assert.match(page, /^<!doctype html>/);
    assert.match(page, /data-api-base="\/q&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
    assert.match(page, /data-token="tok&quot;en&lt;"/);
    assert.match(page, /<title>&lt;b&gt;Jobs&lt;\/b&gt;<\/title>/);
    assert.equal(page.match(/<script>/g)?.length, 1);
    assert.match(await renderDashboard({ apiBase: "/queue", token: null }), /data-token=""/);
  });
});

describe("dashboard in a browser", () => {
  test("shows the counts, retries and cancels tasks, and follows the event stream", async (t) => {
    await withDashboard(t, {}, async ({ queue, page, url, problems }) => {
      const hostile = `<img src=x onerror="document.title='owned'"> resize`;
      const [, image, charge, report] = await queue.enqueueMany([
        { name: "Send welcome email", taskType: "send_email", payload: { to: "ada@example.com" } },
        { name: hostile, taskType: "resize_image", payload: { html: "<b>bold</b>" } },
        { name: "Charge card", taskType: "billing", payload: { amount: 42 }, priority: 4 },
        { name: "Nightly report", taskType: "report", priority: 1 },
      ]);
      await queue.completeTask((await queue.dequeue({ taskTypes: ["send_email"] }))!, { ok: 1 });
      const claimed = (await queue.dequeue({ taskTypes: ["billing"] }))!;
      await queue.failTask(claimed, "Card declined: <insufficient funds>", { retry: false });
      assert.equal((await queue.getTask(charge!))?.status, "failed");
      await queue.schedule("nightly-report", "0 3 * * *", {
        taskType: "report",
        timezone: "Europe/Paris",
      });
      await queue.pause("report");
      await queue.setLimits("billing", { concurrency: 2, rate: { max: 10, intervalMs: 1000 } });

      await page.goto(url);
      await waitText(page, "stat-pending", "2");
      await waitText(page, "stat-running", "0");
      await waitText(page, "stat-completed", "1");
      await waitText(page, "stat-failed", "1");
      await waitText(page, "stat-cancelled", "0");
      await waitText(page, "connection", "live");

      // Task types, schedules and controls.
      await waitText(page, "type-billing-dead", "1");
      await waitText(page, "type-send_email-completed", "1");
      await waitText(page, "type-resize_image-pending", "1");
      const schedule = await page.getByTestId("schedule-row-nightly-report").textContent();
      assert.match(schedule!, /0 3 \* \* \*/);
      assert.match(schedule!, /Europe\/Paris/);
      assert.match((await page.getByTestId("control-row-report").textContent())!, /paused/);
      assert.match((await page.getByTestId("control-row-billing").textContent())!, /10 per second/);

      // Names are text, never markup.
      await waitText(page, `task-name-${image}`, hostile);
      assert.equal(await page.locator("#tl-rows img").count(), 0);
      assert.notEqual(await page.title(), "owned");

      // The failed task, its details and its error history.
      await page.getByTestId("tab-failed").click();
      await waitText(page, `task-status-${charge}`, "failed");
      await page.getByTestId(`task-row-${charge}`).click();
      await waitText(page, "detail-status", "failed");
      await waitText(page, "detail-error", "Card declined: <insufficient funds>");
      assert.match((await page.getByTestId("detail-errors").textContent())!, /insufficient funds/);
      assert.deepEqual(JSON.parse((await page.getByTestId("detail-payload").textContent())!), {
        amount: 42,
      });
      await page.getByTestId("detail-close").click();
      assert.equal(await page.getByTestId("detail").isHidden(), true);

      // Retry from the list: the page and the file agree that it is pending again.
      await page.getByTestId(`retry-${charge}`).click();
      await waitText(page, "stat-failed", "0");
      await waitText(page, "stat-pending", "3");
      assert.equal((await queue.getTask(charge!))?.status, "pending");
      await page.getByTestId("tab-pending").click();
      await waitText(page, `task-status-${charge}`, "pending");

      // Search narrows the list (name or task type).
      await page.getByTestId("search").fill("REPORT");
      await until(
        "expected only the report row",
        () => rowIds(page),
        (ids) => ids.join() === `task-row-${report}`,
      );
      await page.getByTestId("search").fill("");
      await waitText(page, `task-status-${image}`, "pending");

      // Cancel from the list.
      await page.getByTestId(`cancel-${image}`).click();
      await waitText(page, "stat-cancelled", "1");
      assert.equal((await queue.getTask(image!))?.status, "cancelled");

      // An enqueue in the server's process reaches the page through the event stream.
      const live = await queue.enqueue({ name: "Arrived live", taskType: "send_email" });
      await waitText(page, `task-status-${live}`, "pending");
      await waitText(page, "stat-pending", "3");

      assert.deepEqual(problems, []);

      // An API error is shown to the user: a task that does not exist.
      await page.goto(`${url}#status=pending&task=999999`);
      await waitText(page, "detail-missing", "Task 999999 does not exist");

      // Screenshots: the overview, and the retried task's details with its error history.
      await page.getByTestId("detail-close").click();
      await page.locator(".toast").first().waitFor({ state: "detached", timeout: WAIT_MS });
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
      await page.getByTestId(`task-row-${charge}`).click();
      await waitText(page, "detail-status", "pending");
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-detail.png"), fullPage: true });
    });
  });

  test("with auth: sends the token on fetches and on the event stream, shows a 403", async (t) => {
    const readToken = "read-token-0123456789";
    const auth = { readTokens: [readToken], writeTokens: ["write-token-0123456789"] };
    await withDashboard(t, { auth }, async ({ queue, page, url, problems }) => {
      const id = await queue.enqueue({ name: "Charge card", taskType: "billing", maxRetries: 0 });
      await queue.failTask((await queue.dequeue())!, "declined", { retry: false });

      const denied = await page.goto(url);
      assert.equal(denied?.status(), 401);

      await page.goto(`${url}?access_token=${readToken}#status=failed`);
      await waitText(page, "stat-failed", "1");
      await waitText(page, `task-status-${id}`, "failed");
      await waitText(page, "connection", "live");
      await page.getByTestId(`retry-${id}`).click();
      await page.getByText("This token may only read").waitFor({ timeout: WAIT_MS });
      assert.equal((await queue.getTask(id))?.status, "failed");
      // Expected: the 401 of the first visit (and its favicon request), the 403 of the retry.
      assert.deepEqual(problems.filter((p) => !/\b40[13]\b|favicon\.ico/.test(p)), []);
    });
  });
});
