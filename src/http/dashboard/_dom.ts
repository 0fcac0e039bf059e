/**
 * The slice of the browser's DOM that the dashboard client uses, typed here rather than through
 * TypeScript's `dom` lib: JSR refuses `/// <reference lib="dom" />`, and the compiler of a Deno,
 * Node or Bun project that imports these sources has no DOM lib, so the client must type-check
 * without one. Types only; each client file declares the globals it reads with these types
 * (`declare const document: DomDocument;`), in its own module scope.
 *
 * @module
 */

/** A DOM node. */
export interface DomNode {
  /** Removes the node from its parent. */
  remove(): void;
}

/** The `Node` constructor, for `instanceof` (the browser's throws when called). */
export type DomNodeClass = abstract new () => DomNode;

/** An event as the dashboard's listeners read it. */
export interface DomEvent {
  /** The element the event happened on. */
  readonly target: DomElement | null;
  /** The element whose listener runs. */
  readonly currentTarget: DomElement | null;
  /** Cancels the browser's default action. */
  preventDefault(): void;
  /** Stops the event from reaching the ancestors' listeners. */
  stopPropagation(): void;
}

/** A keyboard event. */
export interface DomKeyEvent extends DomEvent {
  /** The key's value, e.g. `"Enter"`, `"Escape"`, `"/"`. */
  readonly key: string;
}

/** Adds a listener for events of `type`. */
export type DomAddListener = <E extends DomEvent = DomEvent>(
  type: string,
  listener: (event: E) => void,
  options?: { once?: boolean },
) => void;

/** An HTML element (inputs and buttons included: `value`, `disabled`). */
export interface DomElement extends DomNode {
  /** The text content. */
  textContent: string | null;
  /** The `class` attribute. */
  className: string;
  /** The `hidden` attribute. */
  hidden: boolean;
  /** The `data-*` attributes. */
  readonly dataset: Record<string, string | undefined>;
  /** The child elements. */
  readonly children: Iterable<DomElement>;
  /** The class list. */
  readonly classList: { toggle(token: string, force?: boolean): boolean };
  /** An input's value. */
  value: string;
  /** Whether a button is disabled. */
  disabled: boolean;
  /** Sets an attribute. */
  setAttribute(name: string, value: string): void;
  /** Appends nodes or text. */
  append(...nodes: (DomNode | string)[]): void;
  /** Replaces the children. */
  replaceChildren(...nodes: (DomNode | string)[]): void;
  /** Moves the focus here. */
  focus(): void;
  /** The first descendant matching a selector. */
  querySelector(selector: string): DomElement | null;
  /** Adds a listener. */
  addEventListener: DomAddListener;
}

/** The document. */
export interface DomDocument {
  /** The body element. */
  readonly body: DomElement;
  /** The focused element. */
  readonly activeElement: DomElement | null;
  /** `"visible"` or `"hidden"`. */
  readonly visibilityState: string;
  /** The element with this id. */
  getElementById(id: string): DomElement | null;
  /** The first element matching a selector. */
  querySelector(selector: string): DomElement | null;
  /** Every element matching a selector. */
  querySelectorAll(selector: string): Iterable<DomElement>;
  /** A new element. */
  createElement(tag: string): DomElement;
  /** A new element in a namespace (SVG). */
  createElementNS(namespace: string, tag: string): DomElement;
  /** A new text node. */
  createTextNode(text: string): DomNode;
  /** Adds a listener. */
  addEventListener: DomAddListener;
}

/** The page's location. */
export interface DomLocation {
  /** The fragment, with its `#`. */
  readonly hash: string;
}

/** The session history. */
export interface DomHistory {
  /** Replaces the current entry's URL without navigating. */
  replaceState(data: null, unused: string, url: string): void;
}

/** An open Server-Sent Events stream. */
export interface DomEventSource {
  /** `EventSource.CLOSED` once the browser gave up reconnecting. */
  readonly readyState: number;
  /** Called when the stream opens. */
  onopen: (() => void) | null;
  /** Called on an error (the browser reconnects unless closed). */
  onerror: (() => void) | null;
  /** Called for unnamed messages. */
  onmessage: (() => void) | null;
  /** Adds a listener for named events. */
  addEventListener(type: string, listener: () => void): void;
  /** Closes the stream. */
  close(): void;
}

/** The `EventSource` constructor. */
export interface DomEventSourceClass {
  /** Opens a stream. */
  new (url: string): DomEventSource;
  /** The `readyState` of a closed stream. */
  readonly CLOSED: number;
}
