/**
 * The dashboard's task views, in the browser: a row of the task list with its retry and cancel
 * buttons, and the content of the detail panel (fields, progress, error history, payload, result).
 *
 * `page.ts` serializes {@linkcode taskView} into the page with `Function.prototype.toString`, so
 * the function must not reference anything outside itself: what it needs comes through its
 * arguments.
 *
 * @module
 */

import type { Task } from "../../task.ts";
import type { Child, ClientView } from "./_client_view.ts";
import type { DomElement, DomEvent, DomKeyEvent } from "./_dom.ts";

/** What the task views do when the user acts: open a task, retry or cancel it. */
export interface TaskActions {
  /** Whether the token may write: without it, no retry or cancel button is shown. */
  canWrite: boolean;
  /** Opens the task's detail panel. */
  select(id: number): void;
  /** Retries or cancels the task; `button` is disabled while the request runs. */
  act(id: number, action: "retry" | "cancel" | "promote", button: DomElement | null): void;
}

/** The views {@linkcode taskView} returns. */
export type TaskView = ReturnType<typeof taskView>;

/**
 * Builds the task views in the browser.
 *
 * @param view The DOM helpers built by `clientView`.
 * @param actions What a click or a key press on a task does.
 * @returns `taskRow` (one row of the task list) and `detailParts` (the detail panel's content).
 */
export function taskView(view: ClientView, actions: TaskActions) {
  const { el, fmtMs, fmtRel, fmtAbs, time, badge, prio, json, progressBar } = view;

  function whenOf(task: Task): number | null {
    switch (task.status) {
      case "pending":
        return task.scheduledAt;
      case "running":
        return task.startedAt;
      case "failed":
        return task.failedAt ?? task.completedAt;
      default:
        return task.completedAt;
    }
  }
  function actionButtons(task: Task, prefix: string): DomElement[] {
    const id = task.id;
    const out: DomElement[] = [];
    if (!actions.canWrite) return out;
    if (task.status === "failed" || task.status === "cancelled") {
      out.push(el("button", {
        type: "button",
        class: "btn retry",
        "data-testid": prefix + "retry-" + id,
        "aria-label": "Retry task " + id,
        onclick: (e: DomEvent) => {
          e.stopPropagation();
          actions.act(id, "retry", e.currentTarget);
        },
      }, "Retry"));
    }
    if (task.status === "pending" && task.scheduledAt > Date.now()) {
      out.push(el("button", {
        type: "button",
        class: "btn retry",
        "data-testid": prefix + "promote-" + id,
        "aria-label": "Run now: task " + id,
        onclick: (e: DomEvent) => {
          e.stopPropagation();
          actions.act(id, "promote", e.currentTarget);
        },
      }, "Run now"));
    }
    if (task.status === "pending" || task.status === "running") {
      const asked = task.status === "running" && task.cancelRequestedAt !== null;
      out.push(el("button", {
        type: "button",
        class: "btn cancel",
        "data-testid": prefix + "cancel-" + id,
        "aria-label": "Cancel task " + id,
        disabled: asked,
        title: asked ? "Cancel requested " + fmtRel(task.cancelRequestedAt) : null,
        onclick: (e: DomEvent) => {
          e.stopPropagation();
          actions.act(id, "cancel", e.currentTarget);
        },
      }, asked ? "Cancelling…" : "Cancel"));
    }
    return out;
  }
  /** One row of the task list; `selected` marks the task whose details are open. */
  function taskRow(t: Task, selected: boolean): DomElement {
    return el(
      "tr",
      {
        "data-testid": "task-row-" + t.id,
        "data-task-id": t.id,
        tabindex: 0,
        class: selected ? "selected" : null,
        "aria-selected": String(selected),
        onclick: () => actions.select(t.id),
        onkeydown: (e: DomKeyEvent) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            actions.select(t.id);
          }
        },
      },
      el("td", { class: "num mono", text: t.id }),
      el(
        "td",
        { class: "name" },
        el("span", { "data-testid": "task-name-" + t.id, text: t.name }),
        t.error ? el("span", { class: "sub err", title: t.error, text: t.error }) : null,
      ),
      el("td", {}, el("code", { text: t.taskType })),
      el("td", {}, prio(t.priority)),
      el("td", { "data-testid": "task-status-" + t.id }, badge(t.status)),
      el("td", {
        class: "num col-wide",
        title: t.retryCount + " failed of at most " + (t.maxRetries + 1) + " runs",
        text: t.attempts + " / " + (t.maxRetries + 1),
      }),
      el("td", {}, time(whenOf(t)), t.status === "running" ? progressBar(t.progress) : null),
      el("td", { class: "actions" }, actionButtons(t, "")),
    );
  }

  function section(title: string, ...content: Child[]): DomElement {
    return el("section", {}, el("h3", { text: title }), ...content);
  }
  /** The detail panel's content for `task`. */
  function detailParts(task: Task): DomElement[] {
    const field = (label: string, value: Child, testid?: string) => [
      el("dt", { text: label }),
      el(
        "dd",
        { "data-testid": testid || null },
        value === null || value === undefined ? el("span", { class: "muted", text: "–" }) : value,
      ),
    ];
    const stamp = (ms: number | null) =>
      ms === null ? null : [time(ms), el("span", { class: "muted", text: "  " + fmtAbs(ms) })];
    const parts: DomElement[] = [];
    parts.push(el(
      "div",
      { class: "detail-actions" },
      badge(task.status, "detail-status"),
      task.status === "running" && task.cancelRequestedAt !== null
        ? el("span", { class: "muted", text: "cancel requested" })
        : null,
      actionButtons(task, "detail-"),
    ));
    const attempts = task.attempts + " claimed, " + task.retryCount + " failed, at most " +
      (task.maxRetries + 1) + " runs";
    parts.push(el(
      "dl",
      { class: "fields" },
      field("Type", el("code", { text: task.taskType })),
      field("Priority", prio(task.priority)),
      field("Attempts", attempts),
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
      task.retryPolicy
        ? field("Retry policy", el("code", { text: JSON.stringify(task.retryPolicy) }))
        : null,
    ));
    if (task.progress !== null && task.progress !== undefined) {
      parts.push(section(
        "Progress",
        typeof task.progress === "number"
          ? el(
            "div",
            { "data-testid": "detail-progress" },
            String(task.progress) + "%",
            progressBar(task.progress),
          )
          : el("pre", { "data-testid": "detail-progress", text: json(task.progress) }),
      ));
    }
    if (task.error) {
      parts.push(section(
        "Error",
        el("pre", { class: "err", "data-testid": "detail-error", text: task.error }),
      ));
    }
    const errors = Array.isArray(task.errors) ? task.errors : [];
    if (errors.length) {
      const head = el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { class: "num", text: "Attempt" }),
          el("th", { text: "When" }),
          el("th", { text: "Error" }),
        ),
      );
      const body = el(
        "tbody",
        {},
        errors.slice().reverse().map((e) =>
          el(
            "tr",
            {},
            el("td", { class: "num", text: e.attempt }),
            el("td", {}, time(e.at)),
            el("td", {}, el("code", { text: e.error })),
          )
        ),
      );
      parts.push(section(
        "Error history (" + errors.length + ")",
        el(
          "div",
          { class: "table-wrap", tabindex: 0 },
          el("table", { class: "history", "data-testid": "detail-errors" }, head, body),
        ),
      ));
    }
    parts.push(section(
      "Payload",
      el("pre", { "data-testid": "detail-payload", text: json(task.payload) }),
    ));
    if (task.status === "completed" || task.result !== null) {
      parts.push(section(
        "Result",
        el("pre", { "data-testid": "detail-result", text: json(task.result) }),
      ));
    }
    return parts;
  }

  return { taskRow, detailParts };
}
