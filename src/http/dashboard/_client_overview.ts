/**
 * The dashboard's overview tables, in the browser: task types (all-time counts from the stored
 * history, live counts, paused state, limits), schedules, and pauses and limits, each with the
 * actions a write token may take (pause and resume, clear limits, retry a type's failed tasks, run
 * a schedule now, pause or delete it).
 *
 * `page.ts` serializes {@linkcode overviewView} into the page with `Function.prototype.toString`,
 * so the function must not reference anything outside itself.
 *
 * @module
 */

import type { Schedule, TypeControl } from "../../engine.ts";
import type { QueueHistory } from "../../history.ts";
import type { QueueMetrics } from "../../metrics.ts";
import type { ClientView } from "./_client_view.ts";
import type { DomElement, DomEvent } from "./_dom.ts";

/** What an overview button does: a request, after a confirmation when `confirm` is given. */
export interface OverviewActions {
  /** Whether the token may write (buttons are shown only then). */
  canWrite: boolean;
  /**
   * Runs an action: asks `confirm` first (when given, as text or computed), then `run`, whose
   * answer is the result line shown.
   */
  act(options: {
    confirm?: string | (() => Promise<string | null>);
    run: () => Promise<string>;
    button: DomElement | null;
  }): void;
  /** Calls the API. */
  api<T>(path: string, init?: RequestInit): Promise<T>;
}

/** The views {@linkcode overviewView} returns. */
export type OverviewView = ReturnType<typeof overviewView>;

/**
 * Builds the overview tables in the browser.
 *
 * @param view The DOM helpers built by `clientView`.
 * @param actions The API and the confirm-then-run helper.
 * @returns `renderTypes`, `renderSchedules` and `renderControls`.
 */
export function overviewView(view: ClientView, actions: OverviewActions) {
  const { $, el, fmtNum, fmtAbs, fmtInterval, time } = view;
  const post = (path: string, body: unknown) =>
    actions.api(path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
    });

  function button(text: string, testid: string, label: string, onclick: (b: DomElement) => void) {
    if (!actions.canWrite) return null;
    return el("button", {
      type: "button",
      class: "btn small",
      "data-testid": testid,
      "aria-label": label,
      text,
      onclick: (e: DomEvent) => onclick(e.currentTarget!),
    });
  }
  function emptyRow(cols: number, text: string): DomElement {
    return el("tr", {}, el("td", { class: "empty-row", colspan: cols, text }));
  }
  const pausedBadge = () => el("span", { class: "badge paused", text: "paused" });

  /** How many failed tasks of `taskType` a bulk retry would touch (counted up to 1,000). */
  async function failedOf(taskType: string): Promise<number> {
    const params = new URLSearchParams({ status: "failed", q: taskType, limit: "1000" });
    const body = await actions.api<{ tasks: { taskType: string }[] }>("/tasks?" + params);
    return body.tasks.filter((t) => t.taskType === taskType).length;
  }

  function pauseButton(taskType: string, paused: boolean, prefix = ""): DomElement | null {
    const what = taskType === "*" ? "the whole queue" : "task type " + taskType;
    return button(
      paused ? "Resume" : "Pause",
      prefix + (paused ? "resume-" : "pause-") + taskType,
      (paused ? "Resume " : "Pause ") + what,
      (b) =>
        actions.act({
          button: b,
          run: async () => {
            await post(paused ? "/resume" : "/pause", taskType === "*" ? {} : { taskType });
            return (paused ? "Resumed " : "Paused ") + what;
          },
        }),
    );
  }

  /** Each type's latest failed task's error, read again only when its dead count changes. */
  const errors = new Map<string, { dead: number; error: Promise<string | null> }>();
  function latestError(taskType: string, dead: number): DomElement {
    const cell = el("td", {
      class: "sub err error-cell",
      "data-testid": "type-" + taskType + "-error",
    });
    if (dead === 0) return cell;
    let known = errors.get(taskType);
    if (!known || known.dead !== dead) {
      const params = new URLSearchParams({ status: "failed", taskType, limit: "1" });
      const error = actions.api<{ tasks: { error: string | null }[] }>("/tasks?" + params)
        .then((body) => body.tasks[0]?.error ?? null, () => null);
      known = { dead, error };
      errors.set(taskType, known);
    }
    known.error.then((text) => {
      cell.textContent = text ?? "";
      if (text) cell.setAttribute("title", text);
    });
    return cell;
  }

  function renderTypes(
    history: QueueHistory,
    metrics: QueueMetrics,
    controls: readonly TypeControl[],
  ): void {
    const totals = new Map(history.totals.map((t) => [t.taskType, t.counts]));
    const live = metrics.taskTypes || {};
    const byType = new Map(controls.map((c) => [c.taskType, c]));
    const names = [...new Set([...totals.keys(), ...Object.keys(live), ...byType.keys()])]
      .filter((name) => name !== "*").sort();
    const rows = names.map((name) => {
      const all = totals.get(name);
      const control = byType.get(name);
      const paused = !!control && control.pausedAt !== null;
      const cell = (value: number | undefined, testid: string) =>
        el("td", {
          class: "num",
          "data-testid": "type-" + name + "-" + testid,
          text: fmtNum(value ?? 0),
        });
      const limits = [
        control && control.concurrency !== null ? fmtNum(control.concurrency) + " at once" : null,
        control && control.rate
          ? fmtNum(control.rate.max) + " per " + fmtInterval(control.rate.intervalMs)
          : null,
      ].filter(Boolean).join(", ");
      const dead = all ? all.dead : 0;
      return el(
        "tr",
        { "data-testid": "type-row-" + name },
        el("td", {}, el("code", { text: name }), paused ? [" ", pausedBadge()] : null),
        cell(live[name]?.pending, "pending"),
        cell(live[name]?.running, "running"),
        cell(all?.completed, "completed"),
        cell(all?.failed, "failed"),
        cell(all?.dead, "dead"),
        cell(all?.cancelled, "cancelled"),
        el("td", { class: "col-wide", text: limits || "–" }),
        latestError(name, dead),
        el(
          "td",
          { class: "row-actions" },
          pauseButton(name, paused),
          dead > 0
            ? button(
              "Retry failed",
              "retry-failed-" + name,
              "Retry failed tasks of " + name,
              (b) =>
                actions.act({
                  button: b,
                  confirm: async () => {
                    const n = await failedOf(name);
                    return n === 0 ? null : "Retry " + n + (n === 1000 ? "+" : "") +
                      " failed " + (n === 1 ? "task" : "tasks") + " of type " + name + "?";
                  },
                  run: async () => {
                    const r = await post("/tasks/retry-failed", { taskType: name }) as {
                      count: number;
                    };
                    return "Retried " + r.count + " failed " + (r.count === 1 ? "task" : "tasks") +
                      " of type " + name;
                  },
                }),
            )
            : null,
        ),
      );
    });
    $("tl-types").replaceChildren(...(rows.length ? rows : [emptyRow(10, "No task types yet")]));
  }

  function renderSchedules(list: readonly Schedule[]): void {
    const rows = list.map((s) => {
      const path = "/schedules/" + encodeURIComponent(s.name);
      return el(
        "tr",
        { "data-testid": "schedule-row-" + s.name },
        el("td", { text: s.name }),
        el("td", {}, el("code", { text: s.cron })),
        el("td", { text: s.timezone || "UTC" }),
        el(
          "td",
          {},
          el("code", { text: s.taskType }),
          el("span", { class: "sub", text: s.taskName }),
        ),
        el(
          "td",
          {},
          s.paused ? el("span", { class: "muted", text: "–" }) : time(s.nextRunAt),
          s.nextRunAt && !s.paused ? el("span", { class: "sub", text: fmtAbs(s.nextRunAt) }) : null,
        ),
        el(
          "td",
          {},
          s.lastRunAt ? time(s.lastRunAt) : el("span", { class: "muted", text: "never" }),
        ),
        el(
          "td",
          {},
          el("span", {
            class: "badge " + (s.paused ? "paused" : "active"),
            text: s.paused ? "paused" : "active",
          }),
        ),
        el(
          "td",
          { class: "row-actions" },
          button(
            "Run now",
            "schedule-run-" + s.name,
            "Run now: schedule " + s.name,
            (b) =>
              actions.act({
                button: b,
                confirm: "Enqueue one " + s.taskType + " task from schedule " + s.name + " now?",
                run: async () => {
                  const r = await post(path + "/run", {}) as { id: number };
                  return "Enqueued task #" + r.id + " from schedule " + s.name;
                },
              }),
          ),
          button(
            s.paused ? "Resume" : "Pause",
            "schedule-" + (s.paused ? "resume-" : "pause-") + s.name,
            (s.paused ? "Resume" : "Pause") + " schedule " + s.name,
            (b) =>
              actions.act({
                button: b,
                run: async () => {
                  await post(path + (s.paused ? "/resume" : "/pause"), {});
                  return (s.paused ? "Resumed" : "Paused") + " schedule " + s.name;
                },
              }),
          ),
          button(
            "Delete",
            "schedule-delete-" + s.name,
            "Delete schedule " + s.name,
            (b) =>
              actions.act({
                button: b,
                confirm: "Delete schedule " + s.name + "? Its tasks already enqueued stay.",
                run: async () => {
                  await actions.api(path, { method: "DELETE" });
                  return "Deleted schedule " + s.name;
                },
              }),
          ),
        ),
      );
    });
    $("tl-schedules").replaceChildren(...(rows.length ? rows : [emptyRow(8, "No schedules")]));
  }

  function renderControls(list: readonly TypeControl[]): void {
    const rows = list.map((c) => {
      const hasLimits = c.concurrency !== null || c.rate !== null;
      return el(
        "tr",
        { "data-testid": "control-row-" + c.taskType },
        el(
          "td",
          {},
          c.taskType === "*"
            ? el("strong", { text: "Whole queue" })
            : el("code", { text: c.taskType }),
        ),
        el(
          "td",
          {},
          c.pausedAt !== null
            ? [pausedBadge(), " ", el("span", { class: "muted" }, time(c.pausedAt))]
            : el("span", { class: "badge active", text: "active" }),
        ),
        el("td", {
          class: "num",
          text: c.concurrency === null ? "–" : fmtNum(c.concurrency) + " at once",
        }),
        el("td", {
          text: c.rate ? fmtNum(c.rate.max) + " per " + fmtInterval(c.rate.intervalMs) : "–",
        }),
        el(
          "td",
          { class: "row-actions" },
          pauseButton(c.taskType, c.pausedAt !== null, "control-"),
          hasLimits && c.taskType !== "*"
            ? button(
              "Clear limits",
              "clear-limits-" + c.taskType,
              "Clear limits of " + c.taskType,
              (b) =>
                actions.act({
                  button: b,
                  confirm: "Clear the concurrency and rate limits of " + c.taskType + "?",
                  run: async () => {
                    await actions.api("/limits/" + encodeURIComponent(c.taskType), {
                      method: "PUT",
                      headers: { "Content-Type": "application/json" },
                      body: JSON.stringify({ concurrency: null, rate: null }),
                    });
                    return "Cleared the limits of " + c.taskType;
                  },
                }),
            )
            : null,
        ),
      );
    });
    if (!list.some((c) => c.taskType === "*") && actions.canWrite) {
      rows.unshift(el(
        "tr",
        { "data-testid": "control-row-*" },
        el("td", {}, el("strong", { text: "Whole queue" })),
        el("td", {}, el("span", { class: "badge active", text: "active" })),
        el("td", { class: "num", text: "–" }),
        el("td", { text: "–" }),
        el("td", { class: "row-actions" }, pauseButton("*", false, "control-")),
      ));
    }
    $("tl-controls").replaceChildren(
      ...(rows.length ? rows : [emptyRow(5, "No pauses or limits")]),
    );
    const all = list.find((c) => c.taskType === "*" && c.pausedAt !== null);
    const paused = $("tl-paused");
    paused.hidden = !all;
    paused.textContent = all
      ? "The whole queue is paused (since " + fmtAbs(all.pausedAt) +
        "): no task is claimed until it is resumed."
      : "";
  }

  return { renderTypes, renderSchedules, renderControls };
}
