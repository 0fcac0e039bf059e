/**
 * The dashboard's charts, in the browser: throughput (completed and failed attempts per step) and
 * backlog (pending and running at each step's sample) as small inline SVG charts drawn from
 * `GET /history`, and the wait and run-time percentiles per task type over the same window.
 *
 * `page.ts` serializes {@linkcode chartView} into the page with `Function.prototype.toString`, so
 * the function must not reference anything outside itself.
 *
 * @module
 */

import type { DurationPercentiles, HistoryPoint, QueueHistory } from "../../history.ts";
import type { ClientView } from "./_client_view.ts";
import type { DomDocument, DomElement } from "./_dom.ts";

declare const document: DomDocument;

/** The views {@linkcode chartView} returns. */
export type ChartView = ReturnType<typeof chartView>;

/**
 * Builds the chart views in the browser.
 *
 * @param view The DOM helpers built by `clientView`.
 * @returns `renderHistory`, which draws both charts and the percentile table.
 */
export function chartView(view: ClientView) {
  const { $, el, fmtNum, fmtMs } = view;
  const NS = "http://www.w3.org/2000/svg";
  const W = 600;
  const H = 160;
  const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

  function svg(tag: string, attrs: Record<string, string | number>, text?: string): DomElement {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  /** A round upper bound for the axis: 1, 2 or 5 times a power of ten. */
  function niceMax(max: number): number {
    if (max <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(max));
    for (const m of [1, 2, 5, 10]) if (m * power >= max) return m * power;
    return 10 * power;
  }
  const clock = (ms: number) =>
    new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  /** The axes and frame of a chart whose values go up to `max`, over `points`. */
  function frame(node: DomElement, max: number, points: readonly HistoryPoint[]): void {
    const bottom = H - PAD.bottom;
    for (const f of [0, 0.5, 1]) {
      const y = bottom - f * (bottom - PAD.top);
      node.append(
        svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }),
        svg(
          "text",
          { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "axis" },
          fmtNum(
            Math.round(max * f),
          ),
        ),
      );
    }
    const first = points[0];
    const last = points[points.length - 1];
    if (first && last) {
      node.append(
        svg("text", { x: PAD.left, y: H - 6, class: "axis" }, clock(first.at)),
        svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end", class: "axis" }, "now"),
      );
    }
  }

  function chart(label: string, testid: string): DomElement {
    const node = svg("svg", {
      viewBox: "0 0 " + W + " " + H,
      role: "img",
      "aria-label": label,
      "data-testid": testid,
      class: "chart",
    });
    node.append(svg("title", {}, label));
    return node;
  }

  /** Stacked bars: completed, then failed (failed attempts and dead tasks) on top. */
  function throughput(points: readonly HistoryPoint[]): DomElement {
    const done = points.reduce((n, p) => n + p.completed, 0);
    const bad = points.reduce((n, p) => n + p.failed + p.dead, 0);
    const node = chart(
      "Throughput: " + fmtNum(done) + " completed and " + fmtNum(bad) + " failed in the window",
      "chart-throughput",
    );
    const max = niceMax(Math.max(0, ...points.map((p) => p.completed + p.failed + p.dead)));
    frame(node, max, points);
    const bottom = H - PAD.bottom;
    const scale = (bottom - PAD.top) / max;
    const step = (W - PAD.left - PAD.right) / Math.max(1, points.length);
    points.forEach((p, i) => {
      const x = PAD.left + i * step + step * 0.1;
      const w = Math.max(1, step * 0.8);
      const ok = p.completed * scale;
      const failed = (p.failed + p.dead) * scale;
      const title = clock(p.at) + ": " + p.completed + " completed, " +
        (p.failed + p.dead) + " failed";
      if (ok > 0) {
        const bar = svg("rect", { x, y: bottom - ok, width: w, height: ok, class: "bar-ok" });
        bar.append(svg("title", {}, title));
        node.append(bar);
      }
      if (failed > 0) {
        const bar = svg("rect", {
          x,
          y: bottom - ok - failed,
          width: w,
          height: failed,
          class: "bar-failed",
        });
        bar.append(svg("title", {}, title));
        node.append(bar);
      }
    });
    return node;
  }

  /** Two lines, pending and running, broken where no sample was taken. */
  function backlog(points: readonly HistoryPoint[]): DomElement {
    const lastSample = [...points].reverse().find((p) => p.pending !== null);
    const node = chart(
      lastSample
        ? "Backlog: " + fmtNum(lastSample.pending) + " pending and " +
          fmtNum(lastSample.running) + " running at the last sample"
        : "Backlog: no sample yet",
      "chart-backlog",
    );
    const max = niceMax(
      Math.max(0, ...points.map((p) => Math.max(p.pending ?? 0, p.running ?? 0))),
    );
    frame(node, max, points);
    const bottom = H - PAD.bottom;
    const step = (W - PAD.left - PAD.right) / Math.max(1, points.length);
    for (const key of ["pending", "running"] as const) {
      let d = "";
      let pen = "M";
      points.forEach((p, i) => {
        const value = p[key];
        if (value === null) {
          pen = "M";
          return;
        }
        const x = PAD.left + (i + 0.5) * step;
        const y = bottom - (value / max) * (bottom - PAD.top);
        d += pen + x.toFixed(1) + " " + y.toFixed(1) + " ";
        pen = "L";
      });
      if (d) node.append(svg("path", { d, class: "line-" + key, "data-testid": "line-" + key }));
    }
    return node;
  }

  function legend(items: readonly [string, string][]): DomElement {
    return el(
      "div",
      { class: "legend" },
      items.map(([cls, text]) => el("span", {}, el("i", { class: "swatch " + cls }), text)),
    );
  }

  function trio(d: DurationPercentiles): string {
    return d.count ? fmtMs(d.p50) + " / " + fmtMs(d.p90) + " / " + fmtMs(d.p99) : "–";
  }

  /** Draws both charts and the percentile table from `history`. */
  function renderHistory(history: QueueHistory): void {
    $("tl-chart-throughput").replaceChildren(
      throughput(history.points),
      legend([["bar-ok", "completed"], ["bar-failed", "failed"]]),
    );
    $("tl-chart-backlog").replaceChildren(
      backlog(history.points),
      legend([["line-pending", "pending"], ["line-running", "running"]]),
    );
    const rows = history.types.map((t) =>
      el(
        "tr",
        { "data-testid": "percentiles-" + t.taskType },
        el("td", {}, el("code", { text: t.taskType })),
        el("td", { class: "num", text: fmtNum(t.completed) }),
        el("td", { class: "num", text: fmtNum(t.failed + t.dead) }),
        el("td", { class: "num", text: trio(t.waitMs) }),
        el("td", { class: "num", text: trio(t.runMs) }),
      )
    );
    $("tl-percentiles").replaceChildren(
      ...(rows.length ? rows : [
        el(
          "tr",
          {},
          el("td", {
            class: "empty-row",
            colspan: 5,
            text: "No attempt finished in this window",
          }),
        ),
      ]),
    );
  }

  return { renderHistory };
}
