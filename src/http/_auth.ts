/**
 * Bearer-token auth with two scopes: `read` (lists, stats, events, dashboard) and `write`
 * (everything, including the worker endpoints). Tokens are compared in constant time.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { ValidationError } from "../errors.ts";

/** The scopes a route can require. */
export type Scope = "read" | "write";

/** Tokens per scope; a write token may also read. */
export interface AuthOptions {
  /** Tokens that may read. */
  readTokens?: readonly string[];
  /** Tokens that may read, write and run workers. */
  writeTokens?: readonly string[];
}

const digest = (token: string) => createHash("sha256").update(token).digest();

/** Checks presented tokens against the configured ones. */
export class TokenChecker {
  readonly #read: Buffer[];
  readonly #write: Buffer[];

  /**
   * Creates the checker.
   *
   * @param options The tokens.
   */
  constructor(options: AuthOptions) {
    const all = [...(options.readTokens ?? []), ...(options.writeTokens ?? [])];
    if (all.length === 0 || all.some((t) => typeof t !== "string" || t.length < 8)) {
      throw new ValidationError(
        "Invalid auth options: give at least one token, each 8 characters or more",
      );
    }
    this.#read = (options.readTokens ?? []).map(digest);
    this.#write = (options.writeTokens ?? []).map(digest);
  }

  /**
   * The scope a token grants, or `null`. Every configured token is compared, so the time taken
   * does not reveal which one (or whether any) matched.
   *
   * @param token The presented token.
   * @returns `"write"`, `"read"` or `null`.
   */
  scopeOf(token: string): Scope | null {
    const presented = digest(token);
    let write = false;
    let read = false;
    for (const known of this.#write) write = timingSafeEqual(known, presented) || write;
    for (const known of this.#read) read = timingSafeEqual(known, presented) || read;
    return write ? "write" : read ? "read" : null;
  }
}
