/**
 * The dashboard's Explain panel and Workers view in a real browser (headless Chromium driven by
 * playwright-core, with `dashboard_browser_test.ts`'s harness in `_browser.ts`). Skips (and says
 * so) without /usr/bin/chromium.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { until, waitText, withDashboard } from "./_browser.ts";

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
