/**
 * What the browser tests share: headless Debian Chromium driven by playwright-core (loaded only
 * when a test launches it), the visible skip where there is none, and waits on what the page
 * shows.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";
import { Hono } from "hono";
import type { Browser, Page } from "playwright-core";
import { TaskQueue } from "../mod.ts";
import { createQueueApp, type QueueAppOptions } from "../hono.ts";
import { serve } from "../src/http/serve.ts";
import { RUNTIME, tempDir } from "./_helpers.ts";

/** Where Debian's Chromium is. */
export const CHROMIUM = "/usr/bin/chromium";
/** How it starts here: headless, and quiet on a closed network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** How long a wait on the page may take. */
export const WAIT_MS = 15_000;

/** Prints a SKIP line and skips the test. */
export function skip(t: TestContext, reason: string): void {
  console.log(`SKIP dashboard browser test on ${RUNTIME}: ${reason}`);
  t.skip(reason);
}

/** Launches Chromium, or returns why this machine or runtime cannot. */
export async function launch(): Promise<Browser | string> {
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
export async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean) {
  const deadline = Date.now() + WAIT_MS;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) assert.fail(`${what}: page shows ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
}

/** Waits until the element with `data-testid` has exactly `text`. */
export function waitText(page: Page, testId: string, text: string): Promise<void> {
  const locator = page.getByTestId(testId).first();
  return until(
    `expected ${testId} to be ${JSON.stringify(text)}`,
    () => locator.textContent({ timeout: 1000 }).then((t) => t?.trim() ?? null, () => null),
    (actual) => actual === text,
  );
}

/** Runs `body` with a queue on a temp file, the app served on a free port, and a browser page. */
export async function withDashboard(
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
