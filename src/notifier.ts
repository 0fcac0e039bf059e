/**
 * The wake-up seam: a {@linkcode Notifier} tells idle workers (and HTTP long polls) that tasks may
 * be ready, so they claim at once instead of at their next poll. It is only a latency hint:
 * polling stays the source of truth, so a lost or spurious notification costs a poll, never a task.
 *
 * The in-process {@linkcode LocalNotifier} wakes workers of the same queue object; PostgreSQL's
 * LISTEN/NOTIFY and a Durable Object's alarm are other implementations of the same interface.
 *
 * @module
 */

/** Receives notifications: the task types that may have become ready (empty: any type). */
export type NotifyListener = (taskTypes: readonly string[]) => void;

/**
 * Carries "tasks may be ready" hints from producers to idle consumers.
 *
 * @example Usage
 * ```ts
 * import { LocalNotifier, type Notifier } from "@tasklite/tasklite";
 *
 * const notifier: Notifier = new LocalNotifier();
 * const stop = notifier.listen((types) => console.log("ready:", types)); // ready: ["email"]
 * notifier.notify(["email"]);
 * stop();
 * ```
 */
export interface Notifier {
  /** Says that tasks of these types may be ready now (an empty list: of any type). */
  notify(taskTypes: readonly string[]): void;
  /** Calls `listener` on each notification until the returned function is called. */
  listen(listener: NotifyListener): () => void;
}

/**
 * The in-process {@linkcode Notifier}: `notify` calls every listener synchronously. A listener that
 * throws is skipped; the others still run.
 *
 * @example Usage
 * ```ts
 * import { LocalNotifier } from "@tasklite/tasklite";
 *
 * const notifier = new LocalNotifier();
 * let woken = 0;
 * const stop = notifier.listen(() => woken++);
 * notifier.notify([]);
 * stop();
 * notifier.notify([]);
 * console.log(woken); // 1
 * ```
 */
export class LocalNotifier implements Notifier {
  readonly #listeners = new Set<NotifyListener>();

  /**
   * Calls every listener with `taskTypes`.
   *
   * @param taskTypes The task types that may be ready (empty: any).
   */
  notify(taskTypes: readonly string[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(taskTypes);
      } catch {
        // a hint: one listener's failure must not stop the others, nor the producer
      }
    }
  }

  /**
   * Subscribes a listener.
   *
   * @param listener Called on each notification.
   * @returns A function that unsubscribes.
   */
  listen(listener: NotifyListener): () => void {
    const own = (types: readonly string[]) => listener(types);
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }
}
