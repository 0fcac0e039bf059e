/**
 * The dashboard in a real browser: headless Chromium driven by playwright-core against the HTTP
 * app on a real port, over a queue on a real file. Skips (and says so) without /usr/bin/chromium.
 */

import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";

import { renderDashboard } from "../src/http/dashboard/page.ts";

import { until, WAIT_MS, waitText, withDashboard } from "./_browser.ts";
import process from "node:process";

/** Screenshots go to `TASKLITE_ARTIFACTS_DIR` when it is set (CI artifacts), nowhere otherwise. */
const ARTIFACTS = process.env.TASKLITE_ARTIFACTS_DIR || null;
const AXE = fileURLToPath(new URL("../node_modules/axe-core/axe.min.js", import.meta.url));

/** Saves a screenshot as a CI artifact when `TASKLITE_ARTIFACTS_DIR` is set; prints its path. */
async function artifact(page: Page, name: string): Promise<void> {
  if (!ARTIFACTS) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`saved ${path}`);
}

/** axe-core's serious and critical violations on the page, as "rule: target" lines. */
async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('"axe" in globalThis'))) {
    await page.addScriptTag({ content: readFileSync(AXE, "utf8") });
  }
  // A string, evaluated in the page (whose globals this file's types do not know).
  const found = await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => String(n.target) + " " + (n.failureSummary || "")),
    })))`);
  return (found as { id: string; impact: string; targets: string[] }[])
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.targets.map((t) => `${v.id} (${v.impact}): ${t}`));
}

/** How far the page scrolls sideways (0: it fits). */
function overflowX(page: Page): Promise<number> {
  return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") as Promise<
    number
  >;
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

      // The detail panel takes the focus when a row opens it.
      await page.getByTestId("detail-close").click();
      await page.getByTestId(`task-row-${charge}`).click();
      await waitText(page, "detail-status", "pending");
      assert.equal(await page.evaluate("document.activeElement?.id"), "tl-detail-title");
      await page.keyboard.press("Escape");
    });
  });

  test("with auth: a login form, the token on every fetch, no action for a read token", async (t) => {
    const readToken = "read-token-0123456789";
    const auth = { readTokens: [readToken], writeTokens: ["write-token-0123456789"] };
    await withDashboard(t, { auth }, async ({ queue, page, url, problems }) => {
      const id = await queue.enqueue({ name: "Charge card", taskType: "billing", maxRetries: 0 });
      await queue.failTask((await queue.dequeue())!, "declined", { retry: false });
      await queue.schedule("nightly", "0 3 * * *", { taskType: "report" });
      await queue.setLimits("billing", { concurrency: 2 });

      // No token: a login form (still a 401), which signs in with the token.
      const denied = await page.goto(url);
      assert.equal(denied?.status(), 401);
      await page.getByTestId("login-token").fill("wrong-token-0123456789");
      await page.getByTestId("login-submit").click();
      await page.getByTestId("login-refused").waitFor({ timeout: WAIT_MS });
      await page.getByTestId("login-token").fill(readToken);
      await page.getByTestId("login-submit").click();
      await waitText(page, "stat-failed", "1");
      await page.goto(`${url}?access_token=${readToken}#status=failed`);
      await waitText(page, `task-status-${id}`, "failed");
      await waitText(page, "connection", "live");
      await waitText(page, "type-billing-dead", "1");
      // A read-only token sees no action button anywhere.
      const actions = ["retry", "cancel", "pause", "resume", "schedule-", "clear-limits", "bulk-"]
        .map((prefix) => `button[data-testid^="${prefix}"]:visible`).join(", ");
      assert.equal(await page.locator(actions).count(), 0);
      await page.getByTestId(`task-row-${id}`).click();
      await waitText(page, "detail-status", "failed");
      assert.equal(await page.getByTestId(`detail-retry-${id}`).count(), 0);
      assert.equal(await page.getByTestId("bulk-retry").isHidden(), true);
      assert.equal((await queue.getTask(id))?.status, "failed");
      // Expected: the 401s of the login form (and their favicon requests).
      assert.deepEqual(problems.filter((p) => !/\b401\b|favicon\.ico/.test(p)), []);
    });
  });

  test("charts, bulk retry, pause and resume, accessibility and small screens", async (t) => {
    await withDashboard(t, {}, async ({ queue, page, url, problems }) => {
      // Five task types with history: completions, failures and a dead letter set per type.
      const types = ["send_email", "resize_image", "billing", "report", "sync"];
      await queue.enqueueMany(
        types.flatMap((taskType) =>
          Array.from(
            { length: 6 },
            (_, i) => ({ name: `${taskType} ${i}`, taskType, maxRetries: 0 }),
          )
        ),
      );
      for (const task of await queue.dequeueMany(30)) {
        if (task.name.endsWith(" 0") || task.name.endsWith(" 1")) {
          await queue.failTask(task, `boom ${task.taskType}`, { retry: false });
        } else await queue.completeTask(task, { ok: true });
      }
      await queue.enqueueMany(Array.from({ length: 4 }, (_, i) => ({
        name: `later ${i}`,
        taskType: "sync",
      })));
      await queue.maintain(); // a backlog sample
      await queue.schedule("nightly", "0 3 * * *", { taskType: "report" });

      await page.goto(url);
      await waitText(page, "connection", "live");
      await waitText(page, "type-billing-dead", "2");
      await waitText(page, "type-sync-completed", "4");
      await waitText(page, "type-sync-pending", "4");

      // The charts are drawn from the stored history.
      const bars = page.locator('[data-testid="chart-throughput"] rect');
      await until("throughput bars", () => bars.count(), (n) => n >= 2);
      assert.match(
        (await page.getByTestId("chart-throughput").getAttribute("aria-label"))!,
        /20 completed and 10 failed/,
      );
      assert.equal(await page.getByTestId("line-pending").count(), 1);
      assert.match(
        (await page.getByTestId("percentiles-billing").textContent())!,
        /billing\s*4\s*2/,
      );
      await page.getByTestId("window-day").click();
      await until("day chart", () => bars.count(), (n) => n >= 2);

      // Bulk retry of a filtered set: the confirmation says how many, the result line what it did.
      await page.getByTestId("tab-failed").click();
      await page.getByTestId("search").fill("billing");
      await until("two billing rows", () => rowIds(page), (ids) => ids.length === 2);
      const asked: string[] = [];
      page.once("dialog", (dialog) => {
        asked.push(dialog.message());
        void dialog.accept();
      });
      await page.getByTestId("bulk-retry").click();
      await waitText(page, "result", "Retried 2 tasks");
      assert.deepEqual(asked, ["Retry 2 failed tasks matching \u201cbilling\u201d?"]);
      assert.equal((await queue.getQueueStats()).failed, 8);
      assert.equal(
        (await queue.getTasksByStatus("failed", 100)).some((t) => t.taskType === "billing"),
        false,
      );

      // Pause a type from its row: claims skip it; resume: they take it again.
      await page.getByTestId("pause-sync").click();
      await waitText(page, "result", "Paused task type sync");
      assert.equal(await queue.dequeue({ taskTypes: ["sync"] }), null);
      await page.getByTestId("resume-sync").click();
      await waitText(page, "result", "Resumed task type sync");
      assert.equal((await queue.dequeue({ taskTypes: ["sync"] }))?.taskType, "sync");

      // Each type shows its latest error.
      await waitText(page, "type-report-error", "boom report");

      // A schedule pauses and runs now from its row.
      await page.getByTestId("schedule-pause-nightly").click();
      await waitText(page, "result", "Paused schedule nightly");
      assert.equal((await queue.getSchedules())[0]!.paused, true);
      page.once("dialog", (dialog) => void dialog.accept());
      await page.getByTestId("schedule-run-nightly").click();
      await until(
        "a task from the schedule",
        () => page.getByTestId("result").textContent(),
        (text) => /^Enqueued task #\d+ from schedule nightly$/.test(text ?? ""),
      );
      assert.equal(
        (await queue.getTasksByStatus("pending", 10, 0, { taskType: "report" })).length,
        1,
      );

      // Arrow keys move between the status tabs.
      await page.getByTestId("tab-failed").focus();
      await page.keyboard.press("ArrowRight");
      assert.equal(await page.evaluate("document.activeElement?.id"), "tab-cancelled");
      assert.equal(await page.getByTestId("tab-cancelled").getAttribute("aria-selected"), "true");
      await page.getByTestId("search").fill("");

      // WCAG AA in light and dark, no sideways scrolling at 390 px; screenshots of each.
      for (const colorScheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme });
        for (const [width, height] of [[1440, 900], [390, 844]] as const) {
          await page.setViewportSize({ width, height });
          await page.getByTestId("tab-pending").click();
          await waitText(page, "connection", "live");
          assert.deepEqual(await axeViolations(page), [], `axe, ${colorScheme} ${width}px`);
          assert.equal(await overflowX(page), 0, `sideways scroll at ${width}px (${colorScheme})`);
          await artifact(page, `dashboard-${colorScheme}-${width}x${height}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  });

  test("finds tasks: ready and scheduled, filters, sorting, pages; promotes and cancels", async (t) => {
    await withDashboard(t, {}, async ({ queue, page, url, problems }) => {
      const later = Date.now() + 3_600_000;
      const [soon, , a, b, c] = await queue.enqueueMany([
        { name: "Soon", taskType: "report", scheduledAt: later },
        { name: "Later", taskType: "report", scheduledAt: later + 60_000 },
        { name: "Alpha", taskType: "email", priority: 3 },
        { name: "Bravo", taskType: "billing" },
        { name: "Charlie", taskType: "email", payload: { note: "needle" } },
      ]);
      await page.goto(url);
      await waitText(page, "connection", "live");
      await until("five pending rows", () => rowIds(page), (ids) => ids.length === 5);

      // Ready in claim order; scheduled soonest first.
      await page.getByTestId("due-ready").click();
      await until(
        "ready rows",
        () => rowIds(page),
        (ids) => ids.join() === [a, b, c].map((id) => `task-row-${id}`).join(),
      );
      await page.getByTestId("due-scheduled").click();
      await until("scheduled rows", () => rowIds(page), (ids) => ids.length === 2);
      assert.equal((await rowIds(page))[0], `task-row-${soon}`);

      // Run a scheduled task now: it moves to ready, in the file too.
      await page.getByTestId(`promote-${soon}`).click();
      await waitText(page, "result", `Task #${soon} is due now`);
      assert.ok((await queue.getTask(soon!))!.scheduledAt <= Date.now());
      await until("one scheduled row", () => rowIds(page), (ids) => ids.length === 1);
      await page.getByTestId("due-all").click();

      // Filters by type and priority, search in the payload, sorting by a column.
      await page.getByTestId("filter-type").selectOption("email");
      await until(
        "email rows",
        () => rowIds(page),
        (ids) => ids.join() === [a, c].map((id) => `task-row-${id}`).join(),
      );
      await page.getByTestId("filter-priority").selectOption("3");
      await until(
        "one email row of priority 3",
        () => rowIds(page),
        (ids) => ids.join() === `task-row-${a}`,
      );
      await page.getByTestId("filter-priority").selectOption("");
      await page.getByTestId("search").fill("needle");
      await until("the payload match", () => rowIds(page), (ids) => ids.join() === `task-row-${c}`);
      await page.getByTestId("search").fill("");
      await page.getByTestId("filter-type").selectOption("");
      await page.getByTestId("sort-name").click();
      await page.getByTestId("sort-name").click(); // descending
      await until("names descending", () => rowIds(page), (ids) => ids.length === 5);
      const names = await page.locator('[data-testid^="task-name-"]').allTextContents();
      assert.deepEqual(names, ["Soon", "Later", "Charlie", "Bravo", "Alpha"]);
      assert.equal(
        await page.locator('th[data-sort="name"]').getAttribute("aria-sort"),
        "descending",
      );

      // Page size and page numbers.
      await queue.enqueueMany(Array.from({ length: 20 }, (_, i) => ({
        name: `Bulk ${i}`,
        taskType: "bulk",
      })));
      await page.getByTestId("sort-name").click(); // back to claim order
      await page.getByTestId("refresh").click();
      await page.getByTestId("page-2").click();
      await until("page 2 of 20", () => rowIds(page), (ids) => ids.length === 5);
      await page.getByTestId("page-size").selectOption("50");
      await until("one page of 25", () => rowIds(page), (ids) => ids.length === 25);

      // Cancel every pending task of a type: the confirmation counts them.
      await page.getByTestId("filter-type").selectOption("bulk");
      await until("bulk rows", () => rowIds(page), (ids) => ids.length === 20);
      const asked: string[] = [];
      page.once("dialog", (dialog) => {
        asked.push(dialog.message());
        void dialog.accept();
      });
      await page.getByTestId("bulk-cancel").click();
      await waitText(page, "result", "Cancelled 20 tasks");
      assert.deepEqual(asked, ["Cancel 20 pending tasks?"]);
      assert.equal((await queue.getQueueStats()).cancelled, 20);
      assert.equal((await queue.getQueueStats()).pending, 5);
      assert.deepEqual(problems, []);
    });
  });

  test("a server that went away shows an error, not an empty list", async (t) => {
    await withDashboard(t, {}, async ({ page, url }) => {
      await page.goto(`${url}#status=failed`);
      await waitText(page, "connection", "live");
      await page.route("**/tasks?**", (route) => route.abort());
      await page.getByTestId("tab-pending").click();
      await page.getByTestId("tab-failed").click();
      await until(
        "an error where the list was",
        () => page.getByTestId("empty").textContent(),
        (text) => /^Cannot load the failed tasks: /.test(text ?? ""),
      );
    });
  });
});
