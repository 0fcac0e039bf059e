/**
 * The dashboard's Explain panel, in the browser: in the task detail, a "Why isn't it running?"
 * section listing every reason from `GET /tasks/:id/explain` (code and message). It watches the
 * detail panel (the task list's client renders it) and adds its section after each render, and
 * reads again every few seconds while the panel is open, as reasons change without the task
 * changing (a due time passing, a limit freeing).
 *
 * `page.ts` serializes {@linkcode explainClient} into the page with `Function.prototype.toString`,
 * so the function must not reference anything outside itself.
 *
 * @module
 */

import type { TaskExplanation } from "../../core/explain.ts";
import type { ClientView } from "./_client_view.ts";
import type { DomDocument, DomElement, DomNode } from "./_dom.ts";

declare const document: DomDocument;
/** The part of the browser's `MutationObserver` used here. */
declare const MutationObserver: new (
  callback: (records: { addedNodes: Iterable<DomNode> }[]) => void,
) => { observe(target: DomElement, options: { childList: boolean }): void };

/** What the panel needs of the page's configuration. */
export interface ExplainConfig {
  /** Where the API is mounted. */
  apiBase: string;
  /** Its bearer token, or `null`. */
  token: string | null;
}

/**
 * Runs the Explain panel in the browser.
 *
 * @param config The API's base and token.
 * @param view The DOM helpers built by `clientView`.
 */
export function explainClient(config: ExplainConfig, view: ClientView): void {
  const { $, el } = view;
  const REFRESH_MS = 3000;
  const TESTID = "detail-explain";
  let seq = 0;

  function current(): number | null {
    if ($("tl-detail").hidden) return null;
    const match = /^#(\d+)/.exec($("tl-detail-title").textContent || "");
    return match ? Number(match[1]) : null;
  }
  function section(id: number, explanation: TaskExplanation | null, error?: string): DomElement {
    const reasons = explanation ? explanation.reasons : [];
    const summary = error
      ? el("p", { class: "err", text: error })
      : explanation && explanation.task.status === "pending"
      ? el("p", {
        class: "muted",
        "data-testid": "explain-runnable",
        text: explanation.runnable
          ? "A claim may take it now" +
            (reasons.length ? "" : ": nothing holds it back")
          : "Not runnable now",
      })
      : null;
    return el(
      "section",
      { "data-testid": TESTID, "data-task-id": id },
      el("h3", { text: "Why isn't it running?" }),
      summary,
      reasons.length
        ? el(
          "ul",
          { class: "reasons", "data-testid": "explain-reasons" },
          reasons.map((reason) =>
            el(
              "li",
              { "data-code": reason.code },
              el("code", { text: reason.code }),
              " ",
              reason.message,
            )
          ),
        )
        : null,
    );
  }
  function place(node: DomElement): void {
    const body = $("tl-detail-body");
    const old = document.querySelector('#tl-detail-body [data-testid="' + TESTID + '"]');
    if (old) old.remove();
    const first = [...body.children][0];
    if (first) (first as unknown as { after(node: DomNode): void }).after(node);
    else body.append(node);
  }
  async function load(): Promise<void> {
    const id = current();
    if (id === null) return;
    const mine = ++seq;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (config.token !== null) headers.Authorization = "Bearer " + config.token;
    let node;
    try {
      const res = await fetch(config.apiBase + "/tasks/" + id + "/explain", {
        headers,
        cache: "no-store",
      });
      const body = await res.json();
      node = res.ok
        ? section(id, body as TaskExplanation)
        : section(id, null, body && body.error ? body.error.message : "HTTP " + res.status);
    } catch {
      node = section(id, null, "Cannot reach the queue API");
    }
    if (mine === seq && current() === id) place(node);
  }

  // Each render of the detail replaces its children: add the section again (not for our own).
  new MutationObserver((records) => {
    const added = records.flatMap((record) => [...record.addedNodes]);
    const ours = added.every((node) =>
      (node as unknown as { dataset?: Record<string, string> }).dataset?.testid === TESTID
    );
    if (!ours) void load();
  }).observe($("tl-detail-body"), { childList: true });
  setInterval(() => {
    if (current() !== null) void load();
  }, REFRESH_MS);
}
