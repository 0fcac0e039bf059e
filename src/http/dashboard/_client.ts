/**
 * The dashboard's browser-side app: its state, the API calls, the location hash, the task list and
 * detail panel, the throttled refresh, and the wiring of the other parts (`_client_*.ts`).
 *
 * `page.ts` serializes {@linkcode dashboardClient} into the page with
 * `Function.prototype.toString`, so the function must not reference anything outside itself: what
 * it needs comes through its arguments (the core's vocabulary in `config`, the DOM helpers in
 * `view`).
 *
 * @module
 */

import type { Schedule, TypeControl } from "../../engine.ts";
import type { QueueHistory } from "../../history.ts";
import type { QueueMetrics } from "../../metrics.ts";
import type { QueueStats, Task, TaskStatus } from "../../task.ts";
import type { ClientView, ViewConfig } from "./_client_view.ts";
import type { actionView } from "./_client_actions.ts";
import type { chartView } from "./_client_charts.ts";
import type { findView } from "./_client_find.ts";
import type { liveView } from "./_client_live.ts";
import type { overviewView } from "./_client_overview.ts";
import type { taskView } from "./_client_tasks.ts";
import type { DomAddListener, DomDocument, DomHistory, DomKeyEvent, DomLocation } from "./_dom.ts";

declare const document: DomDocument;
declare const location: DomLocation;
declare const history: DomHistory;
declare const addEventListener: DomAddListener;

/** What the page hands the client: where the API is, and the core's vocabulary. */
export interface ClientConfig extends ViewConfig {
  /** The API's base path as the browser sees it, without a trailing slash. */
  apiBase: string;
  /** The bearer token for the API, or `null`. */
  token: string | null;
  /** Whether the token may write: without it, no action button is shown. */
  canWrite: boolean;
  /** Every queue event name (`QUEUE_EVENTS`): each one triggers a refresh. */
  events: readonly string[];
  /** The heading of the list's time column, per status. */
  whenLabels: Readonly<Record<TaskStatus, string>>;
}

/** An API failure: the server's message, and the HTTP status. */
type ApiError = Error & { status?: number };

/** The view builders the page hands the client (each serialized on its own). */
export interface ClientParts {
  /** Task rows and the detail panel. */
  taskView: typeof taskView;
  /** Task types, schedules, pauses and limits, with their actions. */
  overviewView: typeof overviewView;
  /** The charts and percentiles. */
  chartView: typeof chartView;
  /** Confirmations, result lines and bulk actions. */
  actionView: typeof actionView;
  /** The list's filters, order, page size and page numbers. */
  findView: typeof findView;
  /** The live event stream. */
  liveView: typeof liveView;
}

/**
 * Runs the dashboard in the browser, on the markup `page.ts` renders.
 *
 * @param config The API's base path and token, and the core's vocabulary.
 * @param view The DOM helpers built by `clientView(config)`.
 * @param parts The view builders, called here with this client's actions.
 */
export function dashboardClient(config: ClientConfig, view: ClientView, parts: ClientParts): void {
  const { $, el, tickTimes, toast, banner } = view;
  const { renderStats } = view;
  const canWrite = config.canWrite;
  // The charts' windows: the last hour by minute, the last day by 10 minutes.
  const WINDOWS = {
    hour: "windowMs=3600000&stepMs=60000",
    day: "windowMs=86400000&stepMs=600000",
  } as const;
  const find = parts.findView(view, () => {
    state.offset = 0;
    renderTabs();
    writeHash();
    loadList().catch((e) => banner(e.message));
  });
  const actions = parts.actionView(view, {
    api,
    refresh: () => {
      sideAt = 0;
      refreshNow();
    },
    list: () => ({ status: state.status, q: state.q, filter: find.filter(), query: listQuery }),
  });
  const { bulk } = actions;
  const views = parts.taskView(view, {
    select: (id) => select(id, true),
    act: actions.act,
    canWrite,
  });
  const overview = parts.overviewView(view, { canWrite, api, act: actions.confirmed });
  const charts = parts.chartView(view);
  const app = $("tl-app");
  const API = config.apiBase;
  const TOKEN = config.token;
  const STATUSES = config.statuses;
  const MIN_GAP_MS = 250; // at most 4 refreshes a second
  const POLL_MS = 3000; // events only cover this server's process: poll for the others
  const SIDE_MS = 10000; // schedules and controls

  const state = {
    status: "pending" as TaskStatus,
    q: "",
    offset: 0,
    selected: null as number | null,
    tasks: [] as Task[],
    controls: [] as TypeControl[],
    hasNext: false,
    window: "hour" as keyof typeof WINDOWS,
    history: null as QueueHistory | null,
  };
  let listSeq = 0;
  let detailSeq = 0;
  let sideAt = 0;

  async function api<T>(path: string, init?: RequestInit): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (TOKEN !== null) headers.Authorization = "Bearer " + TOKEN;
    let res;
    try {
      Object.assign(headers, init && init.headers);
      res = await fetch(API + path, Object.assign({}, init, { headers, cache: "no-store" }));
    } catch {
      throw new Error("Cannot reach the queue API at " + (API || "/"));
    }
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!res.ok) {
      const error: ApiError = new Error(
        body && body.error && body.error.message
          ? body.error.message
          : "HTTP " + res.status + (res.statusText ? " " + res.statusText : ""),
      );
      error.status = res.status;
      throw error;
    }
    return body;
  }

  // ---- location hash: status, search, page and open task survive a reload ---------------------
  function readHash(): void {
    const params = new URLSearchParams(location.hash.slice(1));
    const status = params.get("status");
    state.status = STATUSES.find((s) => s === status) ?? "pending";
    state.q = params.get("q") || "";
    const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    find.readHash(params);
    state.offset = (page - 1) * find.state.size;
    const task = parseInt(params.get("task") || "", 10);
    state.selected = Number.isInteger(task) && task > 0 ? task : null;
    $("tl-search").value = state.q;
  }
  function writeHash(): void {
    const params = new URLSearchParams();
    params.set("status", state.status);
    if (state.q) params.set("q", state.q);
    find.writeHash(params);
    if (state.offset) params.set("page", String(state.offset / find.state.size + 1));
    if (state.selected !== null) params.set("task", String(state.selected));
    history.replaceState(null, "", "#" + params.toString());
  }

  function renderTabs(): void {
    for (const status of STATUSES) {
      const tab = $("tab-" + status);
      tab.setAttribute("aria-selected", String(status === state.status));
      tab.setAttribute("tabindex", status === state.status ? "0" : "-1");
    }
    find.renderControls(state.status);
    $("tl-bulk-retry").hidden = !canWrite || state.status !== "failed";
    $("tl-bulk-delete").hidden = !canWrite ||
      !(state.status === "completed" || state.status === "cancelled" || state.status === "failed");
    $("tl-bulk-cancel").hidden = !canWrite || state.status !== "pending";
    $("tl-list-title").textContent = state.status[0]!.toUpperCase() + state.status.slice(1) +
      " tasks";
    $("tl-when-head").textContent = config.whenLabels[state.status];
  }

  // ---- task list ------------------------------------------------------------------------------
  let listKey = "";
  function renderList(): void {
    // Unchanged data keeps the rows (and focus, hover, selection) as they are.
    const key = JSON.stringify([
      state.status,
      state.offset,
      state.q,
      state.hasNext,
      state.tasks,
      find.state,
    ]);
    if (key === listKey) return;
    listKey = key;
    const rows = state.tasks.map((t) => views.taskRow(t, t.id === state.selected));
    $("tl-rows").replaceChildren(...rows);
    const empty = $("tl-empty");
    empty.hidden = rows.length > 0;
    empty.textContent = state.offset > 0
      ? "No more tasks on this page."
      : state.q
      ? "No " + state.status + " tasks match \u201c" + state.q + "\u201d."
      : "No " + state.status + " tasks.";
    $("tl-range").textContent = rows.length
      ? (state.offset + 1).toLocaleString() + "\u2013" +
        (state.offset + rows.length).toLocaleString() + " \u00b7 page " +
        (state.offset / find.state.size + 1)
      : "";
    $("tl-prev").disabled = state.offset === 0;
    $("tl-next").disabled = !state.hasNext;
    find.renderPages(state.offset / find.state.size + 1, state.hasNext, (page) => {
      state.offset = (page - 1) * find.state.size;
      writeHash();
      loadList().catch((e) => banner(e.message));
    });
  }
  /** The `GET /tasks` query of the list shown (filters, order), without its page. */
  function listQuery(): URLSearchParams {
    const params = new URLSearchParams({ status: state.status });
    if (state.q) params.set("q", state.q);
    find.query(params, state.status);
    return params;
  }
  async function loadList(): Promise<void> {
    const seq = ++listSeq;
    const params = listQuery();
    params.set("limit", String(find.state.size + 1));
    params.set("offset", String(state.offset));
    let body;
    try {
      body = await api<Task[] | { tasks: Task[] }>("/tasks?" + params.toString());
    } catch (error) {
      if (seq !== listSeq) return;
      // An error, never "No tasks": the list is unknown, not empty.
      state.tasks = [];
      listKey = "";
      $("tl-rows").replaceChildren();
      const empty = $("tl-empty");
      empty.hidden = false;
      empty.textContent = "Cannot load the " + state.status + " tasks: " +
        (error as Error).message;
      throw error;
    }
    if (seq !== listSeq) return; // a newer request (another tab, page or search) won
    const tasks = Array.isArray(body) ? body : body.tasks;
    state.hasNext = tasks.length > find.state.size;
    state.tasks = tasks.slice(0, find.state.size);
    renderList();
  }

  // ---- task detail ------------------------------------------------------------------------------
  let detailKey = "";
  function renderDetail(task: Task): void {
    // Re-render only on change, so scrolling and text selection in the panel survive refreshes.
    const key = JSON.stringify(task);
    if (key === detailKey) return;
    detailKey = key;
    $("tl-detail-title").textContent = "#" + task.id + " " + task.name;
    $("tl-detail-body").replaceChildren(...views.detailParts(task));
  }
  async function loadDetail(): Promise<void> {
    if (state.selected === null) return;
    const id = state.selected;
    const seq = ++detailSeq;
    try {
      const task = await api<Task>("/tasks/" + id);
      if (seq === detailSeq && state.selected === id) renderDetail(task);
    } catch (error) {
      if (seq !== detailSeq || state.selected !== id) return;
      if ((error as ApiError).status === 404) {
        $("tl-detail-title").textContent = "#" + id;
        $("tl-detail-body").replaceChildren(
          el("p", {
            class: "muted",
            "data-testid": "detail-missing",
            text: (error as ApiError).message,
          }),
        );
        detailKey = "";
      } else throw error;
    }
  }
  function select(id: number | null, focus?: boolean): void {
    const before = state.selected;
    state.selected = id;
    writeHash();
    for (const row of $("tl-rows").children) {
      const on = Number(row.dataset.taskId) === id;
      row.classList.toggle("selected", on);
      row.setAttribute("aria-selected", String(on));
    }
    const panel = $("tl-detail");
    app.classList.toggle("detail-open", id !== null);
    if (id === null) {
      panel.hidden = true;
      // Focus goes back to the row the panel was opened from.
      const row = before === null ? null : document.querySelector(
        '[data-testid="task-row-' + before + '"]',
      );
      if (focus && row) row.focus();
      return;
    }
    if (panel.hidden) {
      $("tl-detail-title").textContent = "#" + id;
      $("tl-detail-body").replaceChildren(el("p", { class: "muted", text: "Loading…" }));
      detailKey = "";
      panel.hidden = false;
    }
    if (focus) $("tl-detail-title").focus();
    loadDetail().catch((e) => toast(e.message, "error"));
  }

  // ---- refresh: throttled, never overlapping ----------------------------------------------------
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  let lastRun = 0;
  let inFlight = false;
  let again = false;
  function requestRefresh(): void {
    if (inFlight) {
      again = true;
      return;
    }
    if (timer) return;
    timer = setTimeout(runRefresh, Math.max(0, lastRun + MIN_GAP_MS - Date.now()));
  }
  function refreshNow(): void {
    if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
    if (inFlight) {
      again = true;
      return;
    }
    runRefresh();
  }
  async function runRefresh(): Promise<void> {
    timer = 0;
    inFlight = true;
    lastRun = Date.now();
    try {
      await refresh();
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        requestRefresh();
      }
    }
  }
  async function refresh(): Promise<void> {
    const side = Date.now() - sideAt >= SIDE_MS;
    if (side) sideAt = Date.now();
    const jobs = [
      api<QueueStats>("/stats").then(renderStats),
      loadList(),
      loadDetail(),
      (side
        ? Promise.all([
          api<TypeControl[]>("/controls"),
          api<QueueHistory>("/history?" + WINDOWS[state.window]),
        ]).then(([c, h]) => {
          state.controls = c;
          state.history = h;
          overview.renderControls(c);
          charts.renderHistory(h);
        })
        : Promise.resolve())
        .then(() => api<QueueMetrics>("/metrics.json"))
        .then((m) => {
          if (state.history) overview.renderTypes(state.history, m, state.controls);
          find.setTypes([
            ...Object.keys(m.taskTypes || {}),
            ...(state.history ? state.history.totals.map((t) => t.taskType) : []),
          ]);
        }),
    ];
    if (side) jobs.push(api<Schedule[]>("/schedules").then(overview.renderSchedules));
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      banner(
        failed.reason && failed.reason.message ? failed.reason.message : String(failed.reason),
      );
      if (side) sideAt = 0;
    } else {
      banner(null);
      tickTimes();
      $("tl-updated").textContent = "Updated " + new Date().toLocaleTimeString();
    }
  }

  // ---- wiring -----------------------------------------------------------------------------------
  function setStatus(status: TaskStatus): void {
    if (status === state.status && state.offset === 0) return;
    state.status = status;
    state.offset = 0;
    state.tasks = [];
    renderTabs();
    writeHash();
    loadList().catch((e) => banner(e.message));
  }
  for (const status of STATUSES) {
    $("tab-" + status).addEventListener("click", () => setStatus(status));
    // Arrow keys, Home and End move between the tabs (and select), as in a tablist.
    $("tab-" + status).addEventListener("keydown", (e: DomKeyEvent) => {
      const i = STATUSES.indexOf(status);
      const to = e.key === "ArrowRight"
        ? (i + 1) % STATUSES.length
        : e.key === "ArrowLeft"
        ? (i + STATUSES.length - 1) % STATUSES.length
        : e.key === "Home"
        ? 0
        : e.key === "End"
        ? STATUSES.length - 1
        : -1;
      if (to < 0) return;
      e.preventDefault();
      setStatus(STATUSES[to]!);
      $("tab-" + STATUSES[to]).focus();
    });
  }
  $("tl-bulk-retry").addEventListener("click", (e) => bulk("retry", e.currentTarget!));
  $("tl-bulk-cancel").addEventListener("click", (e) => bulk("cancel", e.currentTarget!));
  $("tl-bulk-delete").addEventListener("click", (e) => bulk("delete", e.currentTarget!));
  for (const name of ["hour", "day"] as const) {
    $("tl-window-" + name).addEventListener("click", () => {
      state.window = name;
      for (const other of ["hour", "day"]) {
        $("tl-window-" + other).setAttribute("aria-pressed", String(other === name));
      }
      sideAt = 0;
      refreshNow();
    });
  }
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  $("tl-search").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = e.target!.value.trim();
      state.offset = 0;
      writeHash();
      loadList().catch((err) => banner(err.message));
    }, 200);
  });
  $("tl-prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - find.state.size);
    writeHash();
    loadList().catch((e) => banner(e.message));
  });
  $("tl-next").addEventListener("click", () => {
    state.offset += find.state.size;
    writeHash();
    loadList().catch((e) => banner(e.message));
  });
  $("tl-refresh").addEventListener("click", () => {
    sideAt = 0;
    refreshNow();
  });
  $("tl-detail-close").addEventListener("click", () => select(null, true));
  document.addEventListener("keydown", (e: DomKeyEvent) => {
    if (e.key === "Escape" && state.selected !== null) select(null, true);
    if (e.key === "/" && document.activeElement === document.body) {
      e.preventDefault();
      $("tl-search").focus();
    }
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
  const token = TOKEN !== null ? "?access_token=" + encodeURIComponent(TOKEN) : "";
  const live = { url: API + "/events" + token, events: config.events, onEvent: requestRefresh };
  parts.liveView(view, live).connect();
}
