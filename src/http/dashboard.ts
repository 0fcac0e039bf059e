/**
 * The dashboard: one server-rendered HTML page with inline CSS and vanilla JavaScript (no build
 * step, no external assets) that reads the queue's JSON API and keeps itself live from its
 * Server-Sent Events stream.
 *
 * @module
 */

import { html, raw } from "hono/html";

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
}

/**
 * Renders the dashboard as a complete HTML document.
 *
 * Every value given is escaped; the page's script reads them back from `data-` attributes and
 * writes task data into the page with `textContent` only.
 *
 * @example Usage
 * ```ts
 * import { renderDashboard } from "./dashboard.ts";
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
        <style>${raw(STYLE)}</style>
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
          <div id="tl-paused" class="banner warn" hidden data-testid="queue-paused"></div>
          <main>
            <nav class="stats" role="tablist" aria-label="Tasks by status">
              ${STATUSES.map(statTab)}
            </nav>

            <section class="card" id="tl-list" role="tabpanel" aria-labelledby="tl-list-title">
              <div class="card-head">
                <h2 id="tl-list-title" data-testid="list-title">Tasks</h2>
                <input id="tl-search" type="search" placeholder="Search name or task type"
                  autocomplete="off"
                  aria-label="Search tasks by name or task type" data-testid="search">
              </div>
              <div class="table-wrap">
                <table class="tasks">
                  <thead>
                    <tr>
                      <th class="num">ID</th>
                      <th>Name</th>
                      <th>Type</th>
                      <th>Priority</th>
                      <th>Status</th>
                      <th class="num col-wide">Attempts</th>
                      <th id="tl-when-head">When</th>
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
                <button type="button" id="tl-next" class="btn" data-testid="next"
                  disabled>Next ›</button>
              </div>
            </section>

            <section class="card">
              <div class="card-head">
                <h2>Task types</h2>
                <span id="tl-since" class="muted" data-testid="metrics-since"></span>
              </div>
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Type</th>
                      <th class="num">Pending</th>
                      <th class="num">Running</th>
                      <th class="num">Completed</th>
                      <th class="num" title="Failed attempts that will be retried">Failed</th>
                      <th class="num" title="Tasks that ended failed, with no retries left">Dead</th>
                      <th class="num">Cancelled</th>
                      <th class="num" title="Redriven tasks">Retried</th>
                      <th class="num col-wide" title="Due to claimed, p50 / p90">Wait p50 / p90</th>
                      <th class="num col-wide" title="Claimed to finished, p50 / p90">Run p50 / p90</th>
                    </tr>
                  </thead>
                  <tbody id="tl-types" data-testid="task-types"></tbody>
                </table>
              </div>
            </section>

            <div class="two">
              <section class="card">
                <div class="card-head">
                  <h2>Schedules</h2>
                </div>
                <div class="table-wrap">
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
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>Task type</th>
                        <th>State</th>
                        <th class="num">Concurrency</th>
                        <th>Rate</th>
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
              <h2 id="tl-detail-title" data-testid="detail-title"></h2>
              <button type="button" id="tl-detail-close" class="btn ghost" aria-label="Close details"
                data-testid="detail-close">✕</button>
            </div>
            <div id="tl-detail-body" class="detail-body"></div>
          </aside>
          <div id="tl-toasts" class="toasts" aria-live="polite" data-testid="toasts"></div>
        </div>
        <script>${raw(SCRIPT)}</script>
      </body>
    </html>
  `;
  return doc instanceof Promise ? doc.then((d) => String(d).trimStart()) : String(doc).trimStart();
}

/** One status's count, which is also the tab that lists its tasks. */
function statTab(status: string) {
  return html`
    <button type="button" role="tab" class="stat" id="tab-${status}" data-status="${status}"
      data-testid="tab-${status}" aria-selected="false" aria-controls="tl-list">
      <span class="stat-label"><i class="dot ${status}"></i>${status}</span>
      <span class="stat-value" data-testid="stat-${status}">–</span>
    </button>
  `;
}

const STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --fg: #16181d; --muted: #646b78; --card: #fff; --line: #e3e6eb;
  --hover: #f0f3f7; --accent: #3b63d8; --sel: #e8eefc;
  --pending: #3b82f6; --running: #d97706; --completed: #16a34a; --failed: #dc2626;
  --cancelled: #7c818c; --warn-bg: #fff7e6; --warn-fg: #8a5300; --err-bg: #fdecec; --err-fg: #9b1c1c;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111317; --fg: #e6e8ec; --muted: #9aa1ad; --card: #1a1d23; --line: #2b3039;
    --hover: #222731; --accent: #7c9cff; --sel: #23304f;
    --warn-bg: #3a2c10; --warn-fg: #ffd48a; --err-bg: #3d1a1a; --err-fg: #ffb4b4;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 18px; margin: 0; letter-spacing: .2px; }
h2 { font-size: 15px; margin: 0; }
button { font: inherit; color: inherit; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.muted { color: var(--muted); }
.top { display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 12px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
.top-right { display: flex; align-items: center; gap: 12px; font-size: 13px; }
.conn { display: inline-flex; align-items: center; gap: 6px; color: var(--muted); }
.conn::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--cancelled); }
.conn[data-state="live"]::before { background: var(--completed); }
.conn[data-state="connecting"]::before { background: var(--running); }
.conn[data-state="offline"]::before { background: var(--failed); }
main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 48px; display: grid; gap: 20px; }
.banner { max-width: 1400px; margin: 12px auto 0; padding: 10px 14px; border-radius: 8px;
  background: var(--err-bg); color: var(--err-fg); width: calc(100% - 48px); }
.banner.warn { background: var(--warn-bg); color: var(--warn-fg); }
.stats { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; }
.stat { text-align: left; background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px; cursor: pointer; display: grid; gap: 2px; }
.stat:hover { background: var(--hover); }
.stat[aria-selected="true"] { border-color: var(--accent); box-shadow: inset 0 -3px 0 var(--accent); }
.stat-label { color: var(--muted); text-transform: capitalize; display: flex; align-items: center; gap: 6px; }
.stat-value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.dot { width: 8px; height: 8px; border-radius: 50%; display: inline-block; }
.dot.pending, .badge.pending { --c: var(--pending); }
.dot.running, .badge.running { --c: var(--running); }
.dot.completed, .badge.completed { --c: var(--completed); }
.dot.failed, .badge.failed { --c: var(--failed); }
.dot.cancelled, .badge.cancelled { --c: var(--cancelled); }
.dot { background: var(--c); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
.card-head { display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 12px 16px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.two { display: grid; grid-template-columns: 3fr 2fr; gap: 20px; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 8px 12px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top;
  white-space: nowrap; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .3px; }
tbody tr:last-child td { border-bottom: 0; }
.num { text-align: right; }
td.empty-row { color: var(--muted); text-align: center; padding: 16px; white-space: normal; }
table.tasks tbody tr { cursor: pointer; }
table.tasks td { vertical-align: middle; padding-top: 6px; padding-bottom: 6px; }
table.tasks tbody tr:hover { background: var(--hover); }
table.tasks tbody tr.selected { background: var(--sel); }
table.tasks tbody tr:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.name { max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
.sub { display: block; font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis;
  max-width: 360px; }
.sub.err { color: var(--failed); }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: var(--c); background: color-mix(in srgb, var(--c) 14%, transparent); }
.badge.paused { --c: var(--running); }
.badge.active { --c: var(--completed); }
.prio-4 { color: var(--failed); font-weight: 600; }
.prio-3 { color: var(--running); font-weight: 600; }
.prio-1 { color: var(--muted); }
.btn { border: 1px solid var(--line); background: var(--card); border-radius: 6px; padding: 4px 10px;
  cursor: pointer; font-size: 13px; }
.btn:hover:not(:disabled) { background: var(--hover); }
.btn:disabled { opacity: .5; cursor: default; }
.btn.ghost { border-color: transparent; }
.btn.retry { color: var(--accent); border-color: color-mix(in srgb, var(--accent) 40%, var(--line)); }
.btn.cancel { color: var(--failed); border-color: color-mix(in srgb, var(--failed) 40%, var(--line)); }
td.actions { text-align: right; }
input[type="search"] { width: min(320px, 100%); padding: 6px 10px; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
.pager { display: flex; align-items: center; justify-content: flex-end; gap: 8px; padding: 10px 16px;
  border-top: 1px solid var(--line); }
.pager .muted { margin-right: auto; }
.empty { padding: 28px 16px; text-align: center; color: var(--muted); }
.bar { display: inline-block; vertical-align: middle; width: 80px; height: 6px; border-radius: 3px;
  background: var(--line); overflow: hidden; margin-left: 6px; }
.bar > i { display: block; height: 100%; background: var(--running); }
.detail { position: fixed; top: 0; right: 0; bottom: 0; width: min(560px, 100vw); background: var(--card);
  border-left: 1px solid var(--line); box-shadow: -8px 0 24px rgb(0 0 0 / .12); display: flex;
  flex-direction: column; z-index: 10; }
.detail-head { display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 14px 16px; border-bottom: 1px solid var(--line); }
.detail-head h2 { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.detail-body { overflow: auto; padding: 16px; display: grid; gap: 16px; align-content: start; }
.detail-actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
.detail h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .3px; color: var(--muted); margin: 0 0 6px; }
pre { margin: 0; padding: 10px 12px; background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  overflow: auto; max-height: 320px; font: 12.5px/1.5 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere; }
pre.err { color: var(--err-fg); background: var(--err-bg); border-color: transparent; }
.history td { white-space: normal; }
.toasts { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); display: grid; gap: 8px;
  z-index: 20; }
.toast { padding: 8px 14px; border-radius: 8px; background: var(--fg); color: var(--bg);
  box-shadow: 0 4px 16px rgb(0 0 0 / .2); max-width: 90vw; }
.toast.error { background: var(--failed); color: #fff; }
@media (min-width: 1200px) {
  /* Wide screens: the open detail panel pushes the page aside instead of covering it. */
  .detail { width: min(560px, 40vw); box-shadow: none; }
  .detail-open main, .detail-open .banner, .detail-open .top { margin-right: min(560px, 40vw); }
  .detail-open main { padding-right: 16px; }
  .detail-open .two { grid-template-columns: 1fr; }
  .detail-open .col-wide { display: none; }
  .detail-open .name, .detail-open .sub { max-width: 220px; }
}
@media (max-width: 1100px) {
  .two { grid-template-columns: 1fr; }
}
@media (max-width: 900px) {
  .stats { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  main { padding: 16px 12px 40px; }
}
`;

// The page's script. Plain ES2020 in one IIFE; it builds every node with createElement and sets
// text with textContent, so no task data is ever parsed as HTML.
const SCRIPT = `
(() => {
  "use strict";
  const app = document.getElementById("tl-app");
  const API = app.dataset.apiBase || "";
  const TOKEN = app.dataset.token || null;
  const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];
  const EVENTS = ["enqueued", "started", "completed", "failed", "dead", "retried", "cancelled", "progress"];
  const PRIORITY = { 1: "LOW", 2: "NORMAL", 3: "HIGH", 4: "CRITICAL" };
  const WHEN = { pending: "Due", running: "Started", completed: "Completed", failed: "Failed", cancelled: "Cancelled" };
  const PAGE = 20;
  const MIN_GAP_MS = 250; // at most 4 refreshes a second
  const POLL_MS = 3000; // events only cover this server's process: poll for the others
  const SIDE_MS = 10000; // schedules and controls
  const $ = (id) => document.getElementById(id);

  const state = { status: "pending", q: "", offset: 0, selected: null, tasks: [], controls: [] };
  let listSeq = 0;
  let detailSeq = 0;
  let sideAt = 0;

  // ---- helpers ------------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const fmtNum = (n) => (typeof n === "number" ? n.toLocaleString() : "–");
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    if (ms < 3600000) return (ms / 60000).toFixed(1) + " min";
    if (ms < 86400000) return (ms / 3600000).toFixed(1) + " h";
    return (ms / 86400000).toFixed(1) + " d";
  }
  function fmtInterval(ms) {
    const units = [[86400000, "day"], [3600000, "hour"], [60000, "minute"], [1000, "second"]];
    for (const [size, unit] of units) {
      if (ms % size === 0) return ms === size ? unit : ms / size + " " + unit + "s";
    }
    return fmtMs(ms);
  }
  function fmtRel(ms) {
    if (ms === null || ms === undefined) return "–";
    const diff = ms - Date.now();
    const abs = Math.abs(diff);
    if (abs < 1500) return "now";
    const units = [[86400000, "d"], [3600000, "h"], [60000, "m"], [1000, "s"]];
    let text = "";
    for (const [size, unit] of units) {
      if (abs >= size) { text = Math.floor(abs / size) + unit; break; }
    }
    return diff > 0 ? "in " + text : text + " ago";
  }
  const fmtAbs = (ms) => (ms === null || ms === undefined ? "" : new Date(ms).toLocaleString());
  const time = (ms) => el("time", { title: fmtAbs(ms), "data-ms": ms, datetime: ms == null ? null : new Date(ms).toISOString(), text: fmtRel(ms) });
  function tickTimes() {
    for (const node of document.querySelectorAll("time[data-ms]")) node.textContent = fmtRel(Number(node.dataset.ms));
  }
  const badge = (status, testid) => el("span", { class: "badge " + status, "data-testid": testid, text: status });
  const prio = (p) => el("span", { class: "prio-" + p, text: PRIORITY[p] || String(p) });
  function json(value) {
    try { return JSON.stringify(value, null, 2); } catch { return String(value); }
  }
  function progressBar(value) {
    if (typeof value !== "number" || !isFinite(value)) return null;
    const pct = Math.max(0, Math.min(100, value));
    return el("span", { class: "bar", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100, title: pct + "%" },
      el("i", { style: "width:" + pct + "%" }));
  }

  function toast(message, kind) {
    const node = el("div", { class: "toast" + (kind === "error" ? " error" : ""), role: kind === "error" ? "alert" : "status", text: message });
    $("tl-toasts").append(node);
    setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
  }
  function banner(message) {
    const node = $("tl-banner");
    node.hidden = !message;
    node.textContent = message || "";
  }

  async function api(path, init) {
    const headers = { Accept: "application/json" };
    if (TOKEN !== null) headers.Authorization = "Bearer " + TOKEN;
    let res;
    try {
      res = await fetch(API + path, Object.assign({}, init, { headers, cache: "no-store" }));
    } catch {
      throw new Error("Cannot reach the queue API at " + (API || "/"));
    }
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!res.ok) {
      const error = new Error(body && body.error && body.error.message
        ? body.error.message
        : "HTTP " + res.status + (res.statusText ? " " + res.statusText : ""));
      error.status = res.status;
      throw error;
    }
    return body;
  }

  // ---- location hash: status, search, page and open task survive a reload ---------------------
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const status = params.get("status");
    state.status = STATUSES.includes(status) ? status : "pending";
    state.q = params.get("q") || "";
    const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    state.offset = (page - 1) * PAGE;
    const task = parseInt(params.get("task") || "", 10);
    state.selected = Number.isInteger(task) && task > 0 ? task : null;
    $("tl-search").value = state.q;
  }
  function writeHash() {
    const params = new URLSearchParams();
    params.set("status", state.status);
    if (state.q) params.set("q", state.q);
    if (state.offset) params.set("page", String(state.offset / PAGE + 1));
    if (state.selected !== null) params.set("task", String(state.selected));
    history.replaceState(null, "", "#" + params.toString());
  }

  // ---- stats, task types, schedules, controls ------------------------------------------------
  function renderStats(stats) {
    for (const status of STATUSES) {
      document.querySelector('[data-testid="stat-' + status + '"]').textContent = fmtNum(stats[status]);
    }
  }
  function renderTabs() {
    for (const status of STATUSES) $("tab-" + status).setAttribute("aria-selected", String(status === state.status));
    $("tl-list-title").textContent = state.status[0].toUpperCase() + state.status.slice(1) + " tasks";
    $("tl-when-head").textContent = WHEN[state.status];
  }
  function emptyRow(cols, text) {
    return el("tr", {}, el("td", { class: "empty-row", colspan: cols, text }));
  }
  function pausedTypes() {
    return new Set(state.controls.filter((c) => c.pausedAt !== null).map((c) => c.taskType));
  }
  function renderTypes(metrics) {
    const since = metrics.since;
    $("tl-since").textContent = "Counters since " + fmtAbs(since) + " (this server process)";
    const paused = pausedTypes();
    const names = Object.keys(metrics.taskTypes || {}).sort();
    const rows = names.map((name) => {
      const m = metrics.taskTypes[name];
      const pair = (d) => (d && d.count ? fmtMs(d.p50) + " / " + fmtMs(d.p90) : "–");
      return el("tr", { "data-testid": "type-row-" + name },
        el("td", {}, el("code", { text: name }), paused.has(name) ? [" ", el("span", { class: "badge paused", text: "paused" })] : null),
        el("td", { class: "num", "data-testid": "type-" + name + "-pending", text: fmtNum(m.pending) }),
        el("td", { class: "num", "data-testid": "type-" + name + "-running", text: fmtNum(m.running) }),
        el("td", { class: "num", "data-testid": "type-" + name + "-completed", text: fmtNum(m.completed) }),
        el("td", { class: "num", "data-testid": "type-" + name + "-failed", text: fmtNum(m.failed) }),
        el("td", { class: "num", "data-testid": "type-" + name + "-dead", text: fmtNum(m.dead) }),
        el("td", { class: "num", text: fmtNum(m.cancelled) }),
        el("td", { class: "num", text: fmtNum(m.retried) }),
        el("td", { class: "num col-wide", text: pair(m.waitMs) }),
        el("td", { class: "num col-wide", text: pair(m.runMs) }));
    });
    $("tl-types").replaceChildren(...(rows.length ? rows : [emptyRow(10, "No task types yet")]));
  }
  function renderSchedules(list) {
    const rows = list.map((s) => el("tr", { "data-testid": "schedule-row-" + s.name },
      el("td", { text: s.name }),
      el("td", {}, el("code", { text: s.cron })),
      el("td", { text: s.timezone || "UTC" }),
      el("td", {}, el("code", { text: s.taskType }), el("span", { class: "sub", text: s.taskName })),
      el("td", {}, s.paused ? el("span", { class: "muted", text: "–" }) : time(s.nextRunAt),
        s.nextRunAt && !s.paused ? el("span", { class: "sub", text: fmtAbs(s.nextRunAt) }) : null),
      el("td", {}, s.lastRunAt ? time(s.lastRunAt) : el("span", { class: "muted", text: "never" })),
      el("td", {}, el("span", { class: "badge " + (s.paused ? "paused" : "active"), text: s.paused ? "paused" : "active" }))));
    $("tl-schedules").replaceChildren(...(rows.length ? rows : [emptyRow(7, "No schedules")]));
  }
  function renderControls(list) {
    const rows = list.map((c) => el("tr", { "data-testid": "control-row-" + c.taskType },
      el("td", {}, c.taskType === "*" ? el("strong", { text: "Whole queue" }) : el("code", { text: c.taskType })),
      el("td", {}, c.pausedAt !== null
        ? [el("span", { class: "badge paused", text: "paused" }), " ", el("span", { class: "muted" }, time(c.pausedAt))]
        : el("span", { class: "badge active", text: "active" })),
      el("td", { class: "num", text: c.concurrency === null ? "–" : fmtNum(c.concurrency) + " at once" }),
      el("td", { text: c.rate ? fmtNum(c.rate.max) + " per " + fmtInterval(c.rate.intervalMs) : "–" })));
    $("tl-controls").replaceChildren(...(rows.length ? rows : [emptyRow(4, "No pauses or limits")]));
    const all = list.find((c) => c.taskType === "*" && c.pausedAt !== null);
    const paused = $("tl-paused");
    paused.hidden = !all;
    paused.textContent = all ? "The whole queue is paused (since " + fmtAbs(all.pausedAt) + "): no task is claimed until it is resumed." : "";
  }

  // ---- task list ------------------------------------------------------------------------------
  function whenOf(task) {
    switch (task.status) {
      case "pending": return task.scheduledAt;
      case "running": return task.startedAt;
      case "failed": return task.failedAt ?? task.completedAt;
      default: return task.completedAt;
    }
  }
  function actionButtons(task, prefix) {
    const id = task.id;
    const out = [];
    if (task.status === "failed" || task.status === "cancelled") {
      out.push(el("button", { type: "button", class: "btn retry", "data-testid": prefix + "retry-" + id, "aria-label": "Retry task " + id,
        onclick: (e) => { e.stopPropagation(); act(id, "retry", e.currentTarget); } }, "Retry"));
    }
    if (task.status === "pending" || task.status === "running") {
      const asked = task.status === "running" && task.cancelRequestedAt !== null;
      out.push(el("button", { type: "button", class: "btn cancel", "data-testid": prefix + "cancel-" + id, "aria-label": "Cancel task " + id,
        disabled: asked, title: asked ? "Cancel requested " + fmtRel(task.cancelRequestedAt) : null,
        onclick: (e) => { e.stopPropagation(); act(id, "cancel", e.currentTarget); } }, asked ? "Cancelling…" : "Cancel"));
    }
    return out;
  }
  let listKey = "";
  function renderList() {
    // Unchanged data keeps the rows (and focus, hover, selection) as they are.
    const key = JSON.stringify([state.status, state.offset, state.q, state.hasNext, state.tasks]);
    if (key === listKey) return;
    listKey = key;
    const rows = state.tasks.map((t) => {
      const when = whenOf(t);
      const row = el("tr", { "data-testid": "task-row-" + t.id, "data-task-id": t.id, tabindex: 0,
        class: t.id === state.selected ? "selected" : null, "aria-selected": String(t.id === state.selected),
        onclick: () => select(t.id),
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(t.id); } } },
        el("td", { class: "num mono", text: t.id }),
        el("td", { class: "name" }, el("span", { "data-testid": "task-name-" + t.id, text: t.name }),
          t.error ? el("span", { class: "sub err", title: t.error, text: t.error }) : null),
        el("td", {}, el("code", { text: t.taskType })),
        el("td", {}, prio(t.priority)),
        el("td", { "data-testid": "task-status-" + t.id }, badge(t.status)),
        el("td", { class: "num col-wide", title: t.retryCount + " failed of at most " + (t.maxRetries + 1) + " runs", text: t.attempts + " / " + (t.maxRetries + 1) }),
        el("td", {}, time(when), t.status === "running" ? progressBar(t.progress) : null),
        el("td", { class: "actions" }, actionButtons(t, "")));
      return row;
    });
    $("tl-rows").replaceChildren(...rows);
    const empty = $("tl-empty");
    empty.hidden = rows.length > 0;
    empty.textContent = state.offset > 0
      ? "No more tasks on this page."
      : state.q ? "No " + state.status + " tasks match \\u201c" + state.q + "\\u201d." : "No " + state.status + " tasks.";
    $("tl-range").textContent = rows.length
      ? (state.offset + 1).toLocaleString() + "\\u2013" + (state.offset + rows.length).toLocaleString() + " \\u00b7 page " + (state.offset / PAGE + 1)
      : "";
    $("tl-prev").disabled = state.offset === 0;
    $("tl-next").disabled = !state.hasNext;
  }
  async function loadList() {
    const seq = ++listSeq;
    const params = new URLSearchParams({ status: state.status, limit: String(PAGE + 1), offset: String(state.offset) });
    if (state.q) params.set("q", state.q);
    const body = await api("/tasks?" + params.toString());
    if (seq !== listSeq) return; // a newer request (another tab, page or search) won
    const tasks = Array.isArray(body) ? body : body.tasks;
    state.hasNext = tasks.length > PAGE;
    state.tasks = tasks.slice(0, PAGE);
    renderList();
  }

  // ---- task detail ------------------------------------------------------------------------------
  function section(title, ...content) {
    return el("section", {}, el("h3", { text: title }), ...content);
  }
  let detailKey = "";
  function renderDetail(task) {
    // Re-render only on change, so scrolling and text selection in the panel survive refreshes.
    const key = JSON.stringify(task);
    if (key === detailKey) return;
    detailKey = key;
    $("tl-detail-title").textContent = "#" + task.id + " " + task.name;
    const field = (label, value, testid) => [el("dt", { text: label }), el("dd", { "data-testid": testid || null }, value === null || value === undefined ? el("span", { class: "muted", text: "–" }) : value)];
    const stamp = (ms) => (ms === null ? null : [time(ms), el("span", { class: "muted", text: "  " + fmtAbs(ms) })]);
    const parts = [];
    parts.push(el("div", { class: "detail-actions" }, badge(task.status, "detail-status"),
      task.status === "running" && task.cancelRequestedAt !== null ? el("span", { class: "muted", text: "cancel requested" }) : null,
      actionButtons(task, "detail-")));
    parts.push(el("dl", { class: "fields" },
      field("Type", el("code", { text: task.taskType })),
      field("Priority", prio(task.priority)),
      field("Attempts", task.attempts + " claimed, " + task.retryCount + " failed, at most " + (task.maxRetries + 1) + " runs"),
      field("Worker", task.workerId),
      field("Unique key", task.uniqueKey),
      field("Timeout", task.timeoutMs === null ? null : fmtMs(task.timeoutMs)),
      field("Lease", task.leaseMs === null ? null : fmtMs(task.leaseMs)),
      field("Created", stamp(task.createdAt)),
      field("Scheduled", stamp(task.scheduledAt)),
      field("Started", stamp(task.startedAt)),
      field("Finished", stamp(task.completedAt)),
      field("Failed", stamp(task.failedAt)),
      task.status === "running" ? field("Lease expires", stamp(task.leaseExpiresAt)) : null,
      task.cancelRequestedAt !== null ? field("Cancel asked", stamp(task.cancelRequestedAt)) : null,
      task.retryPolicy ? field("Retry policy", el("code", { text: JSON.stringify(task.retryPolicy) })) : null));
    if (task.progress !== null && task.progress !== undefined) {
      parts.push(section("Progress", typeof task.progress === "number"
        ? el("div", { "data-testid": "detail-progress" }, String(task.progress) + "%", progressBar(task.progress))
        : el("pre", { "data-testid": "detail-progress", text: json(task.progress) })));
    }
    if (task.error) parts.push(section("Error", el("pre", { class: "err", "data-testid": "detail-error", text: task.error })));
    const errors = Array.isArray(task.errors) ? task.errors : [];
    if (errors.length) {
      parts.push(section("Error history (" + errors.length + ")",
        el("div", { class: "table-wrap" }, el("table", { class: "history", "data-testid": "detail-errors" },
          el("thead", {}, el("tr", {}, el("th", { class: "num", text: "Attempt" }), el("th", { text: "When" }), el("th", { text: "Error" }))),
          el("tbody", {}, errors.slice().reverse().map((e) => el("tr", {},
            el("td", { class: "num", text: e.attempt }),
            el("td", {}, time(e.at)),
            el("td", {}, el("code", { text: e.error })))))))));
    }
    parts.push(section("Payload", el("pre", { "data-testid": "detail-payload", text: json(task.payload) })));
    if (task.status === "completed" || task.result !== null) {
      parts.push(section("Result", el("pre", { "data-testid": "detail-result", text: json(task.result) })));
    }
    $("tl-detail-body").replaceChildren(...parts);
  }
  async function loadDetail() {
    if (state.selected === null) return;
    const id = state.selected;
    const seq = ++detailSeq;
    try {
      const task = await api("/tasks/" + id);
      if (seq === detailSeq && state.selected === id) renderDetail(task);
    } catch (error) {
      if (seq !== detailSeq || state.selected !== id) return;
      if (error.status === 404) {
        $("tl-detail-title").textContent = "#" + id;
        $("tl-detail-body").replaceChildren(el("p", { class: "muted", "data-testid": "detail-missing", text: error.message }));
        detailKey = "";
      } else throw error;
    }
  }
  function select(id) {
    state.selected = id;
    writeHash();
    for (const row of $("tl-rows").children) {
      const on = Number(row.dataset.taskId) === id;
      row.classList.toggle("selected", on);
      row.setAttribute("aria-selected", String(on));
    }
    const panel = $("tl-detail");
    app.classList.toggle("detail-open", id !== null);
    if (id === null) { panel.hidden = true; return; }
    if (panel.hidden) {
      $("tl-detail-title").textContent = "#" + id;
      $("tl-detail-body").replaceChildren(el("p", { class: "muted", text: "Loading…" }));
      detailKey = "";
      panel.hidden = false;
    }
    loadDetail().catch((e) => toast(e.message, "error"));
  }

  async function act(id, action, button) {
    if (button) button.disabled = true;
    try {
      const task = await api("/tasks/" + id + "/" + action, { method: "POST" });
      toast(action === "retry" ? "Task #" + id + " is pending again"
        : task && task.status === "running" ? "Cancel requested for task #" + id + ": its worker stops it"
        : "Task #" + id + " cancelled");
    } catch (error) {
      toast(error.message, "error");
      if (button) button.disabled = false;
    }
    refreshNow();
  }

  // ---- refresh: throttled, never overlapping ----------------------------------------------------
  let timer = 0;
  let lastRun = 0;
  let inFlight = false;
  let again = false;
  function requestRefresh() {
    if (inFlight) { again = true; return; }
    if (timer) return;
    timer = setTimeout(runRefresh, Math.max(0, lastRun + MIN_GAP_MS - Date.now()));
  }
  function refreshNow() {
    if (timer) { clearTimeout(timer); timer = 0; }
    if (inFlight) { again = true; return; }
    runRefresh();
  }
  async function runRefresh() {
    timer = 0;
    inFlight = true;
    lastRun = Date.now();
    try {
      await refresh();
    } finally {
      inFlight = false;
      if (again) { again = false; requestRefresh(); }
    }
  }
  async function refresh() {
    const side = Date.now() - sideAt >= SIDE_MS;
    if (side) sideAt = Date.now();
    const jobs = [
      api("/stats").then(renderStats),
      loadList(),
      loadDetail(),
      (side ? api("/controls").then((c) => { state.controls = c; renderControls(c); }) : Promise.resolve())
        .then(() => api("/metrics.json")).then(renderTypes),
    ];
    if (side) jobs.push(api("/schedules").then(renderSchedules));
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      banner(failed.reason && failed.reason.message ? failed.reason.message : String(failed.reason));
      if (side) sideAt = 0;
    } else {
      banner(null);
      tickTimes();
      $("tl-updated").textContent = "Updated " + new Date().toLocaleTimeString();
    }
  }

  // ---- live events ------------------------------------------------------------------------------
  function setConn(stateName, text) {
    const node = $("tl-conn");
    node.dataset.state = stateName;
    node.textContent = text;
  }
  function connect() {
    if (typeof EventSource !== "function") { setConn("polling", "polling"); return; }
    const url = API + "/events" + (TOKEN !== null ? "?access_token=" + encodeURIComponent(TOKEN) : "");
    const source = new EventSource(url);
    setConn("connecting", "connecting");
    source.onopen = () => { setConn("live", "live"); requestRefresh(); };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        setConn("offline", "events unavailable, polling");
        source.close();
        setTimeout(connect, 15000);
      } else {
        setConn("connecting", "reconnecting");
      }
    };
    const onEvent = () => requestRefresh();
    for (const name of EVENTS) source.addEventListener(name, onEvent);
    source.onmessage = onEvent;
    addEventListener("pagehide", () => source.close(), { once: true });
  }

  // ---- wiring -----------------------------------------------------------------------------------
  function setStatus(status) {
    if (status === state.status && state.offset === 0) return;
    state.status = status;
    state.offset = 0;
    state.tasks = [];
    renderTabs();
    writeHash();
    loadList().catch((e) => banner(e.message));
  }
  for (const status of STATUSES) $("tab-" + status).addEventListener("click", () => setStatus(status));
  let searchTimer = 0;
  $("tl-search").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = e.target.value.trim();
      state.offset = 0;
      writeHash();
      loadList().catch((err) => banner(err.message));
    }, 200);
  });
  $("tl-prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    writeHash();
    loadList().catch((e) => banner(e.message));
  });
  $("tl-next").addEventListener("click", () => {
    state.offset += PAGE;
    writeHash();
    loadList().catch((e) => banner(e.message));
  });
  $("tl-refresh").addEventListener("click", () => { sideAt = 0; refreshNow(); });
  $("tl-detail-close").addEventListener("click", () => select(null));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.selected !== null) select(null);
    if (e.key === "/" && document.activeElement === document.body) { e.preventDefault(); $("tl-search").focus(); }
  });
  addEventListener("hashchange", () => {
    readHash();
    renderTabs();
    select(state.selected);
    loadList().catch((e) => banner(e.message));
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") requestRefresh();
  });
  setInterval(() => {
    if (document.visibilityState === "visible") requestRefresh();
  }, POLL_MS);

  readHash();
  renderTabs();
  if (state.selected !== null) select(state.selected);
  refreshNow();
  connect();
})();
`;
