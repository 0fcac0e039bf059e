/**
 * drizzle as a statement builder for the SQLite engine: SQL text with named placeholders
 * (`p("now")`), compiled once into positional `?` parameters and a `bind()` that turns named
 * arguments into the positional array. No drizzle code runs per call.
 *
 * @module
 */

import { is, Param, Placeholder, type SQL, sql } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { drizzle } from "drizzle-orm/sqlite-proxy";
import type { SqliteValue } from "../drivers/driver.ts";

/** A statement's SQL text and how to bind its named parameters. */
export interface Compiled {
  /** SQL with positional `?` parameters. */
  readonly sql: string;
  /** Turns named arguments into the positional parameter array. */
  bind(args: Readonly<Record<string, SqliteValue>>): SqliteValue[];
}

// drizzle used as a statement builder only: the proxy callback never runs.
export const db = drizzle(() => {
  throw new Error("tasklite: the drizzle builder does not execute statements");
});

const dialect = new SQLiteSyncDialect();

/** A named placeholder. */
export const p = (name: string) => sql`${sql.placeholder(name)}`;

/**
 * A bound row count for `LIMIT`/`OFFSET`. A bare `LIMIT ?` lets SQLite read the bound value while
 * planning, which marks the statement to be re-prepared at every bind (about 40 µs per call); the
 * cast keeps the plan independent of the value.
 */
export const count = (name: string) => sql`CAST(${sql.placeholder(name)} AS INTEGER)`;

/** A statement written as plain SQL (with drizzle's columns and placeholders). */
export const raw = (query: SQL) => compile({ toSQL: () => dialect.sqlToQuery(query) });

/** Compiles a drizzle query into its SQL text and binder. */
export function compile(query: { toSQL(): { sql: string; params: unknown[] } }): Compiled {
  const { sql: text, params } = query.toSQL();
  const slots = params.map((param): { name: string } | { value: SqliteValue } => {
    const inner = is(param, Param) ? param.value : param;
    if (is(inner, Placeholder)) return { name: inner.name };
    return { value: inner as SqliteValue };
  });
  return {
    sql: text,
    bind(args) {
      return slots.map((slot) => {
        if (!("name" in slot)) return slot.value;
        const value = args[slot.name];
        if (value === undefined) throw new TypeError(`Missing SQL parameter "${slot.name}"`);
        return value;
      });
    },
  };
}
