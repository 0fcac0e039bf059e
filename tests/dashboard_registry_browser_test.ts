/**
 * The dashboard's Explain panel and Workers view in a real browser (headless Chromium driven by
 * playwright-core, with `dashboard_browser_test.ts`'s harness in `_browser.ts`). Skips (and says
 * so) without /usr/bin/chromium.
 */

import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { Hono } from "hono";
import type { Page } from "playwright-core";
import { TaskQueue } from "../mod.ts";
import { createQueueApp, type QueueAppOptions } from "../hono.ts";
import { serve } from "../src/http/serve.ts";
import { tempDir } from "./_helpers.ts";
import { launch, skip, until, waitText } from "./_browser.ts";

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
