/**
 * How a failure is recorded: one non-empty message, whatever was thrown.
 *
 * @module
 */

/** The longest error message stored with a task (longer ones are cut). */
export const MAX_ERROR_LENGTH = 100_000;

/** A NUL, or a UTF-16 surrogate without its other half (a code unit regex: no `u` flag). */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The message to record for something thrown: an `Error`'s message (or its name), a string, or
 * other values as JSON. Never empty, never longer than {@linkcode MAX_ERROR_LENGTH}. A failure is
 * always recorded, so text SQLite cannot store exactly is replaced visibly rather than refused: a
 * NUL becomes the six characters `\u0000` and a lone surrogate its `\udXXX` escape (as
 * `JSON.stringify` writes them), where a binding would cut the text at the NUL or turn the
 * surrogate into U+FFFD.
 */
export function failureMessage(error: unknown): string {
  const text = error instanceof Error
    ? error.message || error.name
    : typeof error === "string"
    ? error
    : JSON.stringify(error) ?? String(error);
  if (text.trim() === "") return "Handler threw an empty error";
  const stored = text.isWellFormed() && !text.includes("\0")
    ? text
    : text.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (stored.length <= MAX_ERROR_LENGTH) return stored;
  // A cut must not split a surrogate pair (that would leave a lone surrogate).
  const cut = stored.slice(0, MAX_ERROR_LENGTH);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}
