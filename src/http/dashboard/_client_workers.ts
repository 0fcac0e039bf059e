/**
 * The dashboard's Workers view: the worker registry (`GET /workers`) as a table, live workers and
 * recently dead ones, read when the page opens and every few seconds. {@linkcode workersCard} is
 * its markup (server-rendered); {@linkcode workersClient} runs in the browser.
 *
 * `page.ts` serializes {@linkcode workersClient} into the page with `Function.prototype.toString`,
 * so that function must not reference anything outside itself.
 *
 * @module
 */

import { html } from "hono/html";
import type { WorkerInfo } from "../../queue_options.ts";
import type { ClientView } from "./_client_view.ts";

/** What the view needs of the page's configuration. */
export interface WorkersConfig {
  /** Where the API is mounted. */
  apiBase: string;
  /** Its bearer token, or `null`. */
  token: string | null;
}

/**
 * The Workers card's markup.
 *
 * @returns The HTML fragment.
 */
export function workersCard(): ReturnType<typeof html> {
  return html`
    <section class="card" id="tl-workers-card">
      <div class="card-head">
        <h2>Workers</h2>
        <span id="tl-workers-count" class="muted" data-testid="workers-count"></span>
      </div>
      <div class="table-wrap" tabindex="0">
        <table>
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Types</th>
              <th class="num">Concurrency</th>
              <th>Runtime</th>
              <th>Host</th>
              <th>Started</th>
              <th>Last beat</th>
            </tr>
          </thead>
          <tbody id="tl-workers" data-testid="workers"></tbody>
        </table>
      </div>
    </section>
  `;
}

/**
 * Runs the Workers view in the browser.
 *
 * @param config The API's base and token.
 * @param view The DOM helpers built by `clientView`.
 */
export function workersClient(config: WorkersConfig, view: ClientView): void {
  const { $, el, time } = view;
  const REFRESH_MS = 5000;

  function render(workers: WorkerInfo[]): void {
    const alive = workers.filter((w) => w.alive).length;
    $("tl-workers-count").textContent = alive + " alive" +
      (workers.length > alive ? ", " + (workers.length - alive) + " dead" : "");
    $("tl-workers").replaceChildren(
      ...(workers.length === 0
        ? [el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No workers registered" }))]
        : workers.map((w) =>
          el(
            "tr",
            { "data-testid": "worker-row-" + w.id },
            el("td", {}, el("code", { text: w.id })),
            el(
              "td",
              {},
              el("span", {
                class: "badge " + (w.alive ? "active" : "failed"),
                "data-testid": "worker-state-" + w.id,
                text: w.alive ? "alive" : "dead",
              }),
            ),
            el("td", { text: w.taskTypes === null ? "every type" : w.taskTypes.join(", ") }),
            el("td", { class: "num", text: w.concurrency }),
            el("td", { text: w.runtime || "–" }),
            el("td", { text: (w.host || "?") + (w.pid === null ? "" : " · pid " + w.pid) }),
            el("td", {}, time(w.startedAt)),
            el("td", {}, time(w.heartbeatAt)),
          )
        )),
    );
  }
  async function load(): Promise<void> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (config.token !== null) headers.Authorization = "Bearer " + config.token;
    try {
      const res = await fetch(config.apiBase + "/workers", { headers, cache: "no-store" });
      if (res.ok) render(await res.json());
    } catch {
      // the main view's banner reports an unreachable API
    }
  }
  void load();
  setInterval(() => void load(), REFRESH_MS);
}
