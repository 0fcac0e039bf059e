/**
 * How a failure is recorded: one non-empty message, whatever was thrown.
 *
 * @module
 */

/** The longest error message stored with a task (longer ones are cut). */
export const MAX_ERROR_LENGTH = 100_000;

/**
 * The message to record for something thrown: an `Error`'s message (or its name), a string, or
 * other values as JSON. Never empty, never longer than {@linkcode MAX_ERROR_LENGTH}.
 */
export function failureMessage(error: unknown): string {
  const text = error instanceof Error
    ? error.message || error.name
    : typeof error === "string"
    ? error
    : JSON.stringify(error) ?? String(error);
  return text.trim() === "" ? "Handler threw an empty error" : text.slice(0, MAX_ERROR_LENGTH);
}
