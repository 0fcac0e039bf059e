/**
 * The dashboard's task finder, in the browser: the list's filters (pending split into ready and
 * scheduled, task type, priority), its sortable column headers, its page size and page numbers,
 * and how they read from and write to the location hash and the `GET /tasks` query.
 *
 * `page.ts` serializes {@linkcode findView} into the page with `Function.prototype.toString`, so
 * the function must not reference anything outside itself.
 *
 * @module
 */

import type { TaskStatus } from "../../task.ts";
import type { ClientView } from "./_client_view.ts";
import type { DomDocument, DomElement } from "./_dom.ts";

declare const document: DomDocument;

/** The finder's state (besides the status, search and offset the client keeps). */
export interface FindState {
  /** `""`, `ready` or `scheduled` (pending only). */
  due: string;
  /** A task type, or `""`. */
  taskType: string;
  /** A priority number as text, or `""`. */
  priority: string;
  /** A sort key, or `""` for the status's own order. */
  sort: string;
  /** `asc` or `desc`. */
  order: string;
  /** Rows per page. */
  size: number;
}

/** The views {@linkcode findView} returns. */
export type FindView = ReturnType<typeof findView>;

/**
 * Builds the finder in the browser.
 *
 * @param view The DOM helpers built by `clientView`.
 * @param onChange Called when a filter, the order or the page size changes (back to page 1).
 * @returns Its state, the query and hash parts, and the renderers of its controls and pager.
 */
export function findView(view: ClientView, onChange: () => void) {
  const { $, el } = view;
  const SIZES = [20, 50, 100];
  const state: FindState = {
    due: "",
    taskType: "",
    priority: "",
    sort: "",
    order: "asc",
    size: 20,
  };

  /** The query parameters of `GET /tasks` for the list shown. */
  function query(params: URLSearchParams, status: TaskStatus): void {
    if (status === "pending" && state.due) params.set("due", state.due);
    if (state.taskType) params.set("taskType", state.taskType);
    if (state.priority) params.set("priority", state.priority);
    if (state.sort) {
      params.set("sort", state.sort);
      params.set("order", state.order);
    }
  }
  /** The filters as `POST /tasks/cancel-pending` takes them. */
  function filter(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (state.due) out.due = state.due;
    if (state.taskType) out.taskType = state.taskType;
    if (state.priority) out.priority = Number(state.priority);
    return out;
  }
  function readHash(params: URLSearchParams): void {
    const due = params.get("due") || "";
    state.due = due === "ready" || due === "scheduled" ? due : "";
    state.taskType = params.get("type") || "";
    state.priority = /^[1-4]$/.test(params.get("priority") || "") ? params.get("priority")! : "";
    state.sort = params.get("sort") || "";
    state.order = params.get("order") === "desc" ? "desc" : "asc";
    const size = Number(params.get("size"));
    state.size = SIZES.indexOf(size) >= 0 ? size : 20;
    $("tl-type").value = state.taskType;
    $("tl-priority").value = state.priority;
    $("tl-size").value = String(state.size);
  }
  function writeHash(params: URLSearchParams): void {
    if (state.due) params.set("due", state.due);
    if (state.taskType) params.set("type", state.taskType);
    if (state.priority) params.set("priority", state.priority);
    if (state.sort) {
      params.set("sort", state.sort);
      params.set("order", state.order);
    }
    if (state.size !== 20) params.set("size", String(state.size));
  }

  /** The controls for `status`: the due split shows for pending tasks only. */
  function renderControls(status: TaskStatus): void {
    $("tl-due").hidden = status !== "pending";
    for (const due of ["", "ready", "scheduled"]) {
      $("tl-due-" + (due || "all")).setAttribute("aria-pressed", String(state.due === due));
    }
    for (const th of document.querySelectorAll("th[data-sort]")) {
      const key = th.dataset.sort!;
      th.setAttribute(
        "aria-sort",
        state.sort === key ? (state.order === "desc" ? "descending" : "ascending") : "none",
      );
    }
  }

  /** The task types the type filter offers (kept: the one chosen stays even if gone). */
  function setTypes(types: readonly string[]): void {
    const select = $("tl-type");
    const wanted = [...new Set([...types, ...(state.taskType ? [state.taskType] : [])])].sort();
    const key = wanted.join("\u0000");
    if (select.dataset.types === key) return;
    select.dataset.types = key;
    select.replaceChildren(
      el("option", { value: "", text: "All types" }),
      ...wanted.map((t) => el("option", { value: t, text: t })),
    );
    select.value = state.taskType;
  }

  /** The page numbers around `page` (1-based), and the next when there is one. */
  function renderPages(page: number, hasNext: boolean, go: (page: number) => void): void {
    const first = Math.max(1, page - 2);
    const last = hasNext ? page + 1 : page;
    const buttons: DomElement[] = [];
    for (let n = first; n <= last; n++) {
      buttons.push(el("button", {
        type: "button",
        class: "btn small",
        "aria-current": n === page ? "page" : null,
        "aria-label": "Page " + n,
        "data-testid": "page-" + n,
        text: n,
        onclick: () => go(n),
      }));
    }
    $("tl-pages").replaceChildren(...(page === 1 && !hasNext ? [] : buttons));
  }

  const changed = () => onChange();
  for (const due of ["", "ready", "scheduled"]) {
    $("tl-due-" + (due || "all")).addEventListener("click", () => {
      state.due = due;
      changed();
    });
  }
  $("tl-type").addEventListener("change", (e) => {
    state.taskType = e.target!.value;
    changed();
  });
  $("tl-priority").addEventListener("change", (e) => {
    state.priority = e.target!.value;
    changed();
  });
  $("tl-size").addEventListener("change", (e) => {
    state.size = Number(e.target!.value) || 20;
    changed();
  });
  for (const th of document.querySelectorAll("th[data-sort]")) {
    const key = th.dataset.sort!;
    th.querySelector("button")!.addEventListener("click", () => {
      // Ascending, then descending, then the status's own order.
      if (state.sort !== key) {
        state.sort = key;
        state.order = "asc";
      } else if (state.order === "asc") state.order = "desc";
      else state.sort = "";
      changed();
    });
  }

  return { state, query, filter, readHash, writeHash, renderControls, setTypes, renderPages };
}
