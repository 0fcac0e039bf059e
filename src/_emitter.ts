/**
 * The typed emitter behind {@linkcode TaskQueue.on}.
 *
 * @module
 */

import {
  QUEUE_EVENTS,
  type QueueEventName,
  type QueueEvents,
  type QueueListener,
} from "./events.ts";

/** A small typed emitter. A listener that throws is reported to `onListenerError`. */
export class Emitter {
  readonly #listeners = new Map<QueueEventName, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown, event: QueueEventName) => void;

  /**
   * Creates an emitter.
   *
   * @param onListenerError Where listener errors go.
   */
  constructor(onListenerError: (error: unknown, event: QueueEventName) => void) {
    this.#onListenerError = onListenerError;
  }

  /**
   * Adds a listener.
   *
   * @param name The event.
   * @param listener Called with each event.
   * @returns A function that removes the listener.
   */
  on<E extends QueueEventName>(name: E, listener: QueueListener<E>): () => void {
    if (!QUEUE_EVENTS.includes(name)) {
      throw new TypeError(
        `Invalid event name: ${String(name)} (one of ${QUEUE_EVENTS.join(", ")})`,
      );
    }
    if (typeof listener !== "function") throw new TypeError("Invalid listener: must be a function");
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, set = new Set());
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /**
   * Whether anyone listens to an event (so that callers can skip building it).
   *
   * @param name The event.
   * @returns `true` when at least one listener is registered.
   */
  has(name: QueueEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  /**
   * Calls the listeners of an event.
   *
   * @param name The event.
   * @param event Its payload.
   */
  emit<E extends QueueEventName>(name: E, event: QueueEvents[E]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        const returned: unknown = (listener as QueueListener<E>)(event);
        // An async listener's rejection is reported too, never left unhandled.
        if (returned instanceof Promise) {
          returned.catch((error: unknown) => this.#onListenerError(error, name));
        }
      } catch (error) {
        this.#onListenerError(error, name);
      }
    }
  }
}
