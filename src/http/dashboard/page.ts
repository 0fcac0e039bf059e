/**
 * The dashboard: one server-rendered HTML page with inline CSS and vanilla JavaScript (no build
 * step, no external assets) that reads the queue's JSON API and keeps itself live from its
 * Server-Sent Events stream.
 *
 * The page's script is real TypeScript (`_client.ts`, `_client_view.ts`, `_client_tasks.ts`),
 * serialized into the page with `Function.prototype.toString`; the core's statuses, events and
 * priorities reach it as JSON.
 *
 * @module
 */

import { html, raw } from "hono/html";
import { QUEUE_EVENTS } from "../../events.ts";
import { priorityName, TASK_STATUSES, TaskPriority, type TaskStatus } from "../../task.ts";
import { type ClientConfig, dashboardClient } from "./_client.ts";
import { actionView } from "./_client_actions.ts";
import { chartView } from "./_client_charts.ts";
import { findView } from "./_client_find.ts";
import { liveView } from "./_client_live.ts";
import { overviewView } from "./_client_overview.ts";
import { taskView } from "./_client_tasks.ts";
import { clientView } from "./_client_view.ts";
import { DASHBOARD_CSS } from "./_styles.ts";
import { explainClient } from "./_client_explain.ts";
import { workersCard, workersClient } from "./_client_workers.ts";

/** Options of {@linkcode renderDashboard}. */
export interface DashboardOptions {
  /**
   * Where the JSON API is mounted, as the browser sees it: `"/queue"` makes the page call
   * `/queue/stats`, `/queue/tasks`, `/queue/events`, and so on. A trailing slash is ignored.
   */
  apiBase: string;
  /**
   * A bearer token for the API, or `null` when it needs none. The page sends it as
   * `Authorization: Bearer <token>` and as `?access_token=<token>` on the event stream (an
   * `EventSource` cannot send headers). It is embedded in the page, so serve the page only to
   * whoever may hold the token.
   */
  token: string | null;
  /** The page title, `"tasklite"` by default. */
  title?: string;
  /**
   * Whether the token may write: without it the page shows no action button (a read-only token's
   * view).
   *
   * @default {true}
   */
  canWrite?: boolean;
}

/**
 * Renders the dashboard as a complete HTML document.
 *
 * Every value given is escaped: as HTML in the markup, and as JSON safe inside `<script>` in the
 * script's configuration. The script writes task data into the page with `textContent` only.
 *
 * @example Usage
 * ```ts
 * import { renderDashboard } from "./page.ts";
 *
 * const page = await renderDashboard({ apiBase: "/queue", token: null });
 * console.log(page.startsWith("<!doctype html>")); // true
 * ```
 *
 * @param options The API's base path, its token and the page title.
 * @returns The HTML document.
 */
export function renderDashboard(options: DashboardOptions): Promise<string> | string {
  const title = options.title ?? "tasklite";
  const apiBase = options.apiBase.replace(/\/+$/, "");
  const doc = html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <link rel="icon" href="data:,">
        <title>${title}</title>
        <style>${raw(DASHBOARD_CSS)}</style>
      </head>
      <body>
        <div id="tl-app" data-api-base="${apiBase}" data-token="${options.token ?? ""}">
          <header class="top">
            <h1 data-testid="title">${title}</h1>
            <div class="top-right">
              <span id="tl-updated" class="muted" data-testid="updated"></span>
              <span id="tl-conn" class="conn" data-state="connecting"
                data-testid="connection">connecting</span>
              <button type="button" id="tl-refresh" class="btn" data-testid="refresh">Refresh</button>
            </div>
          </header>
          <div id="tl-banner" class="banner" role="alert" hidden data-testid="banner"></div>
          <p id="tl-result" class="result" role="status" hidden data-testid="result"></p>
          <div id="tl-paused" class="banner warn" hidden data-testid="queue-paused"></div>
          <main>
            <nav class="stats" role="tablist" aria-label="Tasks by status">
              ${TASK_STATUSES.map(statTab)}
            </nav>

            <section class="card" id="tl-list" role="tabpanel" aria-labelledby="tl-list-title">
              <div class="card-head">
                <h2 id="tl-list-title" data-testid="list-title">Tasks</h2>
                <div class="card-tools">
                  <input id="tl-search" type="search" placeholder="Search name or task type"
                    autocomplete="off"
                    aria-label="Search tasks by name or task type" data-testid="search">
                  <button type="button" id="tl-bulk-retry" class="btn retry" hidden
                    data-testid="bulk-retry">Retry all matching</button>
                  <button type="button" id="tl-bulk-cancel" class="btn cancel" hidden
                    data-testid="bulk-cancel">Cancel all matching</button>
                  <button type="button" id="tl-bulk-delete" class="btn cancel" hidden
                    data-testid="bulk-delete">Delete all</button>
                </div>
              </div>
              <div class="filters">
                <div id="tl-due" class="card-tools" role="group" aria-label="Pending tasks">
                  <button type="button" id="tl-due-all" class="btn small" data-testid="due-all"
                    aria-pressed="true">All</button>
                  <button type="button" id="tl-due-ready" class="btn small" data-testid="due-ready"
                    aria-pressed="false">Ready</button>
                  <button type="button" id="tl-due-scheduled" class="btn small"
                    data-testid="due-scheduled" aria-pressed="false">Scheduled</button>
                </div>
                <select id="tl-type" aria-label="Filter by task type" data-testid="filter-type">
                  <option value="">All types</option>
                </select>
                <select id="tl-priority" aria-label="Filter by priority"
                  data-testid="filter-priority">
                  <option value="">All priorities</option>
                  ${priorityOptions()}
                </select>
                <select id="tl-size" aria-label="Rows per page" data-testid="page-size">
                  <option value="20">20 a page</option>
                  <option value="50">50 a page</option>
                  <option value="100">100 a page</option>
                </select>
              </div>
              <div class="table-wrap" tabindex="0">
                <table class="tasks">
                  <thead>
                    <tr>
                      ${sortable("id", "ID", "num")}
                      ${sortable("name", "Name")}
                      ${sortable("taskType", "Type")}
                      ${sortable("priority", "Priority")}
                      <th>Status</th>
                      ${sortable("attempts", "Attempts", "num col-wide")}
                      ${sortable("when", "When")}
                      <th class="actions"><span class="sr">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody id="tl-rows" data-testid="task-rows"></tbody>
                </table>
              </div>
              <div id="tl-empty" class="empty" hidden data-testid="empty"></div>
              <div class="pager">
                <span id="tl-range" class="muted" data-testid="page-range"></span>
                <button type="button" id="tl-prev" class="btn" data-testid="prev"
                  disabled>‹ Prev</button>
                <span id="tl-pages" class="card-tools" data-testid="pages"></span>
                <button type="button" id="tl-next" class="btn" data-testid="next"
                  disabled>Next ›</button>
              </div>
            </section>

            <section class="card" aria-labelledby="tl-charts-title">
              <div class="card-head">
                <h2 id="tl-charts-title">Over time</h2>
                <div class="card-tools" role="group" aria-label="Chart window">
                  <button type="button" id="tl-window-hour" class="btn small" aria-pressed="true"
                    data-testid="window-hour">Last hour</button>
                  <button type="button" id="tl-window-day" class="btn small" aria-pressed="false"
                    data-testid="window-day">Last day</button>
                </div>
              </div>
              <div class="charts">
                <div>
                  <h3>Throughput</h3>
                  <div id="tl-chart-throughput"></div>
                </div>
                <div>
                  <h3>Backlog</h3>
                  <div id="tl-chart-backlog"></div>
                </div>
              </div>
              <div class="table-wrap" tabindex="0">
                <table>
                  <caption class="sr">Wait and run time percentiles per task type</caption>
                  <thead>
                    <tr>
                      <th>Type</th>
                      <th class="num">Completed</th>
                      <th class="num">Failed</th>
                      <th class="num" title="Due to claimed">Wait p50 / p90 / p99</th>
                      <th class="num" title="Claimed to finished">Run p50 / p90 / p99</th>
                    </tr>
                  </thead>
                  <tbody id="tl-percentiles" data-testid="percentiles"></tbody>
                </table>
              </div>
            </section>

            <section class="card">
              <div class="card-head">
                <h2>Task types</h2>
                <span class="muted" data-testid="types-note">All-time counts, every process</span>
              </div>
              <div class="table-wrap" tabindex="0">
                <table>
                  <thead>
                    <tr>
                      <th>Type</th>
                      <th class="num">Pending</th>
                      <th class="num">Running</th>
                      <th class="num">Completed</th>
                      <th class="num" title="Failed attempts that were retried">Failed</th>
                      <th class="num" title="Tasks that ended failed, with no retries left">Dead</th>
                      <th class="num">Cancelled</th>
                      <th class="col-wide">Limits</th>
                      <th>Latest error</th>
                      <th><span class="sr">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody id="tl-types" data-testid="task-types"></tbody>
                </table>
              </div>
            </section>

            ${workersCard()}

            <div class="two">
              <section class="card">
                <div class="card-head">
                  <h2>Schedules</h2>
                </div>
                <div class="table-wrap" tabindex="0">
                  <table>
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Cron</th>
                        <th>Time zone</th>
                        <th>Task</th>
                        <th>Next run</th>
                        <th>Last run</th>
                        <th>State</th>
                        <th><span class="sr">Actions</span></th>
                      </tr>
                    </thead>
                    <tbody id="tl-schedules" data-testid="schedules"></tbody>
                  </table>
                </div>
              </section>
              <section class="card">
                <div class="card-head">
                  <h2>Pauses and limits</h2>
                </div>
                <div class="table-wrap" tabindex="0">
                  <table>
                    <thead>
                      <tr>
                        <th>Task type</th>
                        <th>State</th>
                        <th class="num">Concurrency</th>
                        <th>Rate</th>
                        <th><span class="sr">Actions</span></th>
                      </tr>
                    </thead>
                    <tbody id="tl-controls" data-testid="controls"></tbody>
                  </table>
                </div>
              </section>
            </div>
          </main>

          <aside id="tl-detail" class="detail" hidden aria-labelledby="tl-detail-title"
            data-testid="detail">
            <div class="detail-head">
              <h2 id="tl-detail-title" tabindex="-1" data-testid="detail-title"></h2>
              <button type="button" id="tl-detail-close" class="btn ghost" aria-label="Close details"
                data-testid="detail-close">✕</button>
            </div>
            <div id="tl-detail-body" class="detail-body"></div>
          </aside>
          <div id="tl-toasts" class="toasts" aria-live="polite" data-testid="toasts"></div>
        </div>
        <script>${raw(clientScript({
          ...vocabulary(),
          apiBase,
          token: options.token,
          canWrite: options.canWrite ?? true,
        }))}</script>
      </body>
    </html>
  `;
  return doc instanceof Promise ? doc.then((d) => String(d).trimStart()) : String(doc).trimStart();
}

/** One status's count, which is also the tab that lists its tasks. */
function statTab(status: TaskStatus) {
  return html`
    <button type="button" role="tab" class="stat" id="tab-${status}" data-status="${status}"
      data-testid="tab-${status}" aria-selected="false" aria-controls="tl-list">
      <span class="stat-label"><i class="dot ${status}"></i>${status}</span>
      <span class="stat-value" data-testid="stat-${status}">–</span>
    </button>
  `;
}

/** A column header that sorts the list by `key` (the client cycles ascending, descending, off). */
function sortable(key: string, label: string, cls = "") {
  return html`
    <th data-sort="${key}" class="${cls}" aria-sort="none">
      <button type="button" class="sort" data-testid="sort-${key}"><span
        ${key === "when" ? raw('id="tl-when-head"') : ""}>${label}</span></button>
    </th>
  `;
}

/** The priority filter's options, highest first. */
function priorityOptions() {
  return Object.values(TaskPriority).sort((a, b) => b - a).map((p) =>
    html`<option value="${p}">${priorityName(p)}</option>`
  );
}

/** The heading of the task list's time column, per status. */
const WHEN_LABELS: Readonly<Record<TaskStatus, string>> = {
  pending: "Due",
  running: "Started",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** The core's vocabulary, as the client takes it. */
function vocabulary(): Omit<ClientConfig, "apiBase" | "token" | "canWrite"> {
  const priorities = Object.values(TaskPriority).map((p) => [p, priorityName(p)]);
  return {
    statuses: TASK_STATUSES,
    events: QUEUE_EVENTS,
    priorities: Object.fromEntries(priorities),
    whenLabels: WHEN_LABELS,
  };
}

/**
 * The page's script: the client functions' source (`Function.prototype.toString`: transpiled on
 * Deno and Bun, type-stripped on Node), applied to `config` as JSON that cannot end the element.
 */
function clientScript(config: ClientConfig): string {
  const json = JSON.stringify(config)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  const code = `((config) => {
  const view = (${clientView.toString()})(config);
  (${dashboardClient.toString()})(config, view, {
    taskView: ${taskView.toString()},
    overviewView: ${overviewView.toString()},
    chartView: ${chartView.toString()},
    actionView: ${actionView.toString()},
    findView: ${findView.toString()},
    liveView: ${liveView.toString()},
  });
  (${explainClient.toString()})(config, view);
  (${workersClient.toString()})(config, view);
})(${json});`;
  // The functions' source is ours; this only guards against a change that would end the script.
  if (/<\/script|<!--/i.test(code)) throw new Error("The dashboard script would end its element");
  return `"use strict";\n${code}`;
}
