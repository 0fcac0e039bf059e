/**
 * The dashboard's actions, in the browser: the confirmation that says how many tasks an action
 * will touch, the result line it leaves, and the bulk actions on the task list (retry every failed
 * task, or cancel every pending one, matching the search).
 *
 * `page.ts` serializes {@linkcode actionView} into the page with `Function.prototype.toString`,
 * so the function must not reference anything outside itself.
 *
 * @module
 */

import type { Task, TaskStatus } from "../../task.ts";
import type { ClientView } from "./_client_view.ts";
import type { DomElement } from "./_dom.ts";

declare const confirm: (message: string) => boolean;

/** What the actions need of the client. */
export interface ActionDeps {
  /** Calls the API. */
  api<T>(path: string, init?: RequestInit): Promise<T>;
  /** Refreshes everything (after an action). */
  refresh(): void;
  /** The list shown: its status and search. */
  list(): { status: TaskStatus; q: string };
}

/** The views {@linkcode actionView} returns. */
export type ActionView = ReturnType<typeof actionView>;

/**
 * Builds the action helpers in the browser.
 *
 * @param view The DOM helpers built by `clientView`.
 * @param deps The API, the refresh, and the list shown.
 * @returns `result` (the result line), `confirmed` (confirm, run, report) and `bulk`.
 */
export function actionView(view: ClientView, deps: ActionDeps) {
  const { $, toast } = view;

  /** Shows an action's result line (and a toast). */
  function result(message: string, kind?: "error"): void {
    const line = $("tl-result");
    line.hidden = false;
    line.textContent = message;
    line.className = "result" + (kind ? " error" : "");
    toast(message, kind);
  }

  /** Confirms (when asked), runs, and reports an action's result, then refreshes. */
  async function confirmed(options: {
    confirm?: string | (() => Promise<string | null>);
    run: () => Promise<string>;
    button: DomElement | null;
  }): Promise<void> {
    const { button } = options;
    if (button) button.disabled = true;
    try {
      if (options.confirm !== undefined) {
        const question = typeof options.confirm === "string"
          ? options.confirm
          : await options.confirm();
        if (question === null) {
          result("Nothing to do: no task matches");
          return;
        }
        if (!confirm(question)) return;
      }
      result(await options.run());
    } catch (error) {
      result((error as Error).message, "error");
    } finally {
      if (button) button.disabled = false;
      deps.refresh();
    }
  }

  /** Retries every failed task, or cancels every pending one, matching the search. */
  function bulk(action: "retry" | "cancel", button: DomElement): void {
    const status = action === "retry" ? "failed" : "pending";
    const { q } = deps.list();
    let ids: number[] = [];
    confirmed({
      button,
      confirm: async () => {
        const params = new URLSearchParams({ status, limit: "1000" });
        if (q) params.set("q", q);
        const body = await deps.api<{ tasks: Task[] }>("/tasks?" + params.toString());
        ids = body.tasks.map((t) => t.id);
        if (ids.length === 0) return null;
        return (action === "retry" ? "Retry " : "Cancel ") + ids.length +
          (ids.length === 1000 ? "+ " : " ") + status + (ids.length === 1 ? " task" : " tasks") +
          (q ? " matching \u201c" + q + "\u201d" : "") + "?";
      },
      run: async () => {
        let done = 0;
        let refused = 0;
        for (let i = 0; i < ids.length; i += 20) {
          const chunk = ids.slice(i, i + 20).map((id) =>
            deps.api("/tasks/" + id + "/" + action, { method: "POST" }).then(
              () => void done++,
              () => void refused++,
            )
          );
          await Promise.all(chunk);
        }
        return (action === "retry" ? "Retried " : "Cancelled ") + done +
          (done === 1 ? " task" : " tasks") + (refused ? " (" + refused + " had moved on)" : "");
      },
    });
  }

  return { result, confirmed, bulk };
}
