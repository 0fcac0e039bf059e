/**
 * The dashboard's live event stream, in the browser: an `EventSource` on the API's `/events`
 * (every queue event triggers a refresh), its state in the header, and reconnection.
 *
 * `page.ts` serializes {@linkcode liveView} into the page with `Function.prototype.toString`, so
 * the function must not reference anything outside itself.
 *
 * @module
 */

import type { ClientView } from "./_client_view.ts";
import type { DomAddListener, DomEventSourceClass } from "./_dom.ts";

declare const EventSource: DomEventSourceClass;
declare const addEventListener: DomAddListener;

/** Where the stream is, and what to do on an event. */
export interface LiveOptions {
  /** The stream's URL (with `access_token` when the API needs one). */
  url: string;
  /** Every queue event name. */
  events: readonly string[];
  /** Called on each event (and when the stream opens). */
  onEvent: () => void;
}

/**
 * Builds the live stream in the browser.
 *
 * @param view The DOM helpers built by `clientView`.
 * @param options The URL, the event names and the callback.
 * @returns `connect`, which opens the stream (and opens it again after it closes).
 */
export function liveView(view: ClientView, options: LiveOptions) {
  const { $ } = view;
  function setConn(stateName: string, text: string): void {
    const node = $("tl-conn");
    node.dataset.state = stateName;
    node.textContent = text;
  }
  function connect(): void {
    if (typeof EventSource !== "function") {
      setConn("polling", "polling");
      return;
    }
    const source = new EventSource(options.url);
    setConn("connecting", "connecting");
    source.onopen = () => {
      setConn("live", "live");
      options.onEvent();
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        setConn("offline", "events unavailable, polling");
        source.close();
        setTimeout(connect, 15000);
      } else {
        setConn("connecting", "reconnecting");
      }
    };
    const onEvent = () => options.onEvent();
    for (const name of options.events) source.addEventListener(name, onEvent);
    source.onmessage = onEvent;
    addEventListener("pagehide", () => source.close(), { once: true });
  }

  return { connect };
}
