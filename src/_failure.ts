/**
 * How a failure is recorded: one non-empty message that SQLite stores exactly, whatever was
 * thrown, and never an exception of its own.
 *
 * @module
 */

/** The longest error message stored with a task (longer ones are cut). */
export const MAX_ERROR_LENGTH = 100_000;

/** A NUL, or a UTF-16 surrogate without its other half (a code unit regex: no `u` flag). */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The message to record for something thrown: an `Error`'s message (or its name), a string, or
 * other values as JSON, else as `String()` gives them. Never empty, never longer than
 * {@linkcode MAX_ERROR_LENGTH}, and never throws (a BigInt, a circular object, a throwing getter,
 * a hostile Proxy, a Symbol, `null` all become text). A failure is always recorded, so text
 * SQLite cannot store exactly is replaced visibly rather than refused: a NUL becomes the six
 * characters `\u0000` and a lone surrogate its `\udXXX` escape (as `JSON.stringify` writes
 * them), where a binding would cut the text at the NUL or turn the surrogate into U+FFFD.
 */
export function failureMessage(error: unknown): string {
  const text = clean(describe(error));
  return text.trim() === "" ? "Handler threw an empty error" : text;
}

/**
 * A failure's message with the reason it was not retried, if there is one.
 *
 * @param message The failure's message.
 * @param reason Why it was not retried (a backoff that gave no usable delay).
 * @returns The message to record.
 */
export function withReason(message: string, reason: string | undefined): string {
  return reason === undefined ? message : cut(`${message} (not retried: ${reason})`);
}

function describe(error: unknown): string {
  if (typeof error === "string") return error;
  if (typeof error === "bigint") return String(error);
  if (isError(error)) {
    let message: unknown;
    try {
      message = error.message;
    } catch {
      return nameOf(error); // a message getter that throws
    }
    if (typeof message === "string" && message !== "") return message;
    if (message !== undefined && message !== "") return `${nameOf(error)}: ${describe(message)}`;
    return nameOf(error);
  }
  try {
    const json = JSON.stringify(error);
    if (typeof json === "string") return json;
  } catch {
    // Circular, a BigInt inside, a throwing getter or toJSON.
  }
  try {
    return String(error);
  } catch {
    // No toString, or one that throws (a Proxy, an object without a prototype).
  }
  try {
    return Object.prototype.toString.call(error);
  } catch {
    return `a thrown ${typeof error}`;
  }
}

/** `instanceof Error`, false for a Proxy whose `getPrototypeOf` trap throws. */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

function nameOf(error: Error): string {
  try {
    const name: unknown = error.name;
    return typeof name === "string" && name !== "" ? name : "Error";
  } catch {
    return "Error";
  }
}

function clean(text: string): string {
  const stored = text.isWellFormed() && !text.includes("\0")
    ? text
    : text.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return cut(stored);
}

/** Cuts to {@linkcode MAX_ERROR_LENGTH}, never splitting a surrogate pair. */
function cut(text: string): string {
  if (text.length <= MAX_ERROR_LENGTH) return text;
  const head = text.slice(0, MAX_ERROR_LENGTH);
  return /[\ud800-\udbff]$/.test(head) ? head.slice(0, -1) : head;
}
