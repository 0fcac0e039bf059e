/**
 * The dashboard's browser-side view kit: building DOM nodes, formatting numbers, durations and
 * times, badges, toasts, and the status counts.
 *
 * `page.ts` serializes {@linkcode clientView} into the page with `Function.prototype.toString`,
 * so the function must not reference anything outside itself: what it needs comes through its
 * argument. It builds every node with `createElement` and sets text with `textContent`, so no task
 * data is ever parsed as HTML.
 *
 * @module
 */

import type { QueueStats, TaskStatus } from "../../task.ts";
import type { DomDocument, DomElement, DomEvent, DomNode, DomNodeClass } from "./_dom.ts";

declare const document: DomDocument;
declare const Node: DomNodeClass;

/** What the view takes from the core, through the page. */
export interface ViewConfig {
  /** Every task status, in lifecycle order (`TASK_STATUSES`). */
  statuses: readonly TaskStatus[];
  /** Each priority's display name, by number (`priorityName`). */
  priorities: Readonly<Record<number, string>>;
}

/** One child of {@linkcode ClientView.el}: a node, text, or nothing (skipped). */
export type Leaf = DomNode | string | number | null | undefined | false;

/** A child, or a list of them (flattened one level). */
export type Child = Leaf | readonly Leaf[];

/**
 * Attributes of {@linkcode ClientView.el}: `text` sets the text, `class` the class name, `on*` adds
 * a listener, `true` an empty attribute; `null`, `undefined` and `false` are skipped.
 */
export type Props = Record<string, unknown>;

/** The kit {@linkcode clientView} returns. */
export type ClientView = ReturnType<typeof clientView>;

/**
 * Builds the view kit in the browser.
 *
 * @param config The statuses and priority names.
 * @returns DOM, formatting and rendering helpers for {@linkcode dashboardClient}.
 */
export function clientView(config: ViewConfig) {
  const $ = (id: string): DomElement => document.getElementById(id)!;

  function el(tag: string, props?: Props | null, ...children: Child[]): DomElement {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = String(value);
      else if (key.startsWith("on")) {
        node.addEventListener(key.slice(2), value as (event: DomEvent) => void);
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const fmtNum = (n: unknown): string => (typeof n === "number" ? n.toLocaleString() : "–");
  function fmtMs(ms: number | null | undefined): string {
    if (ms === null || ms === undefined) return "–";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    if (ms < 3600000) return (ms / 60000).toFixed(1) + " min";
    if (ms < 86400000) return (ms / 3600000).toFixed(1) + " h";
    return (ms / 86400000).toFixed(1) + " d";
  }
  function fmtInterval(ms: number): string {
    const units = [[86400000, "day"], [3600000, "hour"], [60000, "minute"], [
      1000,
      "second",
    ]] as const;
    for (const [size, unit] of units) {
      if (ms % size === 0) return ms === size ? unit : ms / size + " " + unit + "s";
    }
    return fmtMs(ms);
  }
  function fmtRel(ms: number | null | undefined): string {
    if (ms === null || ms === undefined) return "–";
    const diff = ms - Date.now();
    const abs = Math.abs(diff);
    if (abs < 1500) return "now";
    const units = [[86400000, "d"], [3600000, "h"], [60000, "m"], [1000, "s"]] as const;
    let text = "";
    for (const [size, unit] of units) {
      if (abs >= size) {
        text = Math.floor(abs / size) + unit;
        break;
      }
    }
    return diff > 0 ? "in " + text : text + " ago";
  }
  const fmtAbs = (ms: number | null | undefined): string =>
    ms === null || ms === undefined ? "" : new Date(ms).toLocaleString();
  const time = (ms: number | null | undefined): DomElement =>
    el("time", {
      title: fmtAbs(ms),
      "data-ms": ms,
      datetime: ms == null ? null : new Date(ms).toISOString(),
      text: fmtRel(ms),
    });
  function tickTimes(): void {
    for (const node of document.querySelectorAll("time[data-ms]")) {
      node.textContent = fmtRel(Number(node.dataset.ms));
    }
  }
  const badge = (status: string, testid?: string): DomElement =>
    el("span", { class: "badge " + status, "data-testid": testid, text: status });
  const prio = (p: number): DomElement =>
    el("span", { class: "prio-" + p, text: config.priorities[p] || String(p) });
  function json(value: unknown): string {
    try {
      return JSON.stringify(value, null, 2);
    } catch {
      return String(value);
    }
  }
  function progressBar(value: unknown): DomElement | null {
    if (typeof value !== "number" || !isFinite(value)) return null;
    const pct = Math.max(0, Math.min(100, value));
    return el(
      "span",
      {
        class: "bar",
        role: "progressbar",
        "aria-valuenow": pct,
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        title: pct + "%",
      },
      el("i", { style: "width:" + pct + "%" }),
    );
  }

  function toast(message: string, kind?: "error"): void {
    const node = el("div", {
      class: "toast" + (kind === "error" ? " error" : ""),
      role: kind === "error" ? "alert" : "status",
      text: message,
    });
    $("tl-toasts").append(node);
    setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
  }
  function banner(message: string | null): void {
    const node = $("tl-banner");
    node.hidden = !message;
    node.textContent = message || "";
  }

  // ---- status counts --------------------------------------------------------------------------
  function renderStats(stats: QueueStats): void {
    for (const status of config.statuses) {
      document.querySelector('[data-testid="stat-' + status + '"]')!.textContent = fmtNum(
        stats[status],
      );
    }
  }
  return {
    $,
    el,
    fmtNum,
    fmtMs,
    fmtRel,
    fmtAbs,
    time,
    tickTimes,
    badge,
    prio,
    json,
    progressBar,
    toast,
    banner,
    renderStats,
    fmtInterval,
  };
}
