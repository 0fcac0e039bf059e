/**
 * The dashboard's actions, in the browser: the confirmation that says how many tasks an action
 * will touch, the result line it leaves, one task's actions (retry, cancel, run now), and the bulk
 * actions on the task list shown (retry every failed task, cancel every pending one, delete every
 * finished one).
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
  /** The list shown: its status, search, filters, and its `GET /tasks` query. */
  list(): {
    status: TaskStatus;
    q: string;
    filter: Record<string, unknown>;
    query: () => URLSearchParams;
  };
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

  const post = <T>(path: string, body?: unknown) =>
    deps.api<T>(path, {
      method: "POST",
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }),
    });
  const tasks = (n: number) => n + (n === 1 ? " task" : " tasks");

  /**
   * The bulk actions on the list shown (its search and filters): retry every failed task, cancel
   * every pending one, or delete every finished one of the status; the confirmation counts them.
   */
  function bulk(action: "retry" | "cancel" | "delete", button: DomElement): void {
    const { status, q, filter, query } = deps.list();
    const matching = q ? " matching \u201c" + q + "\u201d" : "";
    let ids: number[] = [];
    confirmed({
      button,
      confirm: async () => {
        const params = query();
        params.set("limit", "1000");
        const body = await deps.api<{ tasks: Task[] }>("/tasks?" + params.toString());
        ids = body.tasks.map((t) => t.id);
        if (ids.length === 0) return null;
        const n = ids.length + (ids.length === 1000 ? "+" : "");
        if (action === "delete") {
          return "Delete " + n + " " + status + " " + (ids.length === 1 ? "task" : "tasks") +
            matching + "? This cannot be undone.";
        }
        return (action === "retry" ? "Retry " : "Cancel ") + n + " " + status +
          (ids.length === 1 ? " task" : " tasks") + matching + "?";
      },
      run: async () => {
        if (action === "cancel") {
          // One request: the server cancels what matches the same filters, in one transaction.
          const r = await post<{ count: number }>("/tasks/cancel-pending", {
            ...filter,
            ...(q ? { search: q } : {}),
            limit: Math.max(ids.length, 1),
          });
          return "Cancelled " + tasks(r.count);
        }
        if (action === "delete" && !q && Object.keys(filter).length === 0) {
          const r = await post<{ deleted: number }>("/tasks/prune", {
            olderThanMs: 0,
            statuses: [status],
            limit: ids.length,
          });
          return "Deleted " + tasks(r.deleted);
        }
        if (action === "delete") {
          throw new Error("Delete works on a whole status: clear the search and filters first");
        }
        let done = 0;
        let refused = 0;
        for (let i = 0; i < ids.length; i += 20) {
          await Promise.all(
            ids.slice(i, i + 20).map((id) =>
              post("/tasks/" + id + "/retry").then(() => void done++, () => void refused++)
            ),
          );
        }
        return "Retried " + tasks(done) + (refused ? " (" + refused + " had moved on)" : "");
      },
    });
  }

  /** One task's action from its row or detail panel: retry, cancel, or run now (promote). */
  async function act(
    id: number,
    action: "retry" | "cancel" | "promote",
    button: DomElement | null,
  ): Promise<void> {
    if (button) button.disabled = true;
    try {
      const task = await post<Task | null>("/tasks/" + id + "/" + action);
      result(
        action === "retry"
          ? "Task #" + id + " is pending again"
          : action === "promote"
          ? "Task #" + id + " is due now"
          : task && task.status === "running"
          ? "Cancel requested for task #" + id + ": its worker stops it"
          : "Task #" + id + " cancelled",
      );
    } catch (error) {
      result((error as Error).message, "error");
      if (button) button.disabled = false;
    }
    deps.refresh();
  }

  return { result, confirmed, bulk, act };
}
