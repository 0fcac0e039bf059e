/**
 * A `better-sqlite3`-shaped adapter over the runtime's built-in SQLite (`node:sqlite` or
 * `bun:sqlite`), for the peers that want `better-sqlite3` (plainjob on Deno and Node, liteque
 * everywhere). `better-sqlite3` is a native addon built against one Node ABI: it does not load in
 * Deno or Bun, and the scratch install skips its build. The peers' own queue code runs unchanged
 * on this adapter, over the same SQLite that tasklite uses on that runtime.
 *
 * Only the subset those peers call is here: `prepare` (`run`, `get`, `all`, `raw()`), `exec`,
 * `pragma`, `transaction` (with `.deferred`, `.immediate`, `.exclusive`; nested calls use
 * savepoints) and `close`. Like `better-sqlite3` 11 (liteque's lockfile pins 11.5), a transaction
 * function that returns a promise commits when it returns; `better-sqlite3` 12 throws instead,
 * which makes liteque 0.8's dequeue fail.
 *
 * @module
 */

import type { Db, Stmt, Value } from "./_runtime.ts";

/** What `run` returns. */
export interface RunResult {
  /** Rows changed. */
  changes: number;
  /** The last inserted rowid. */
  lastInsertRowid: number | bigint;
}

/** A bound parameter list: positional values, or one object of named ones. */
type Params = unknown[];

/** Turns `undefined` (which the built-in bindings refuse) into `null`, and booleans into 0/1. */
function bindable(params: Params): Value[] {
  return params.map((value) => {
    if (value === undefined) return null;
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bindable([v])[0]]));
    }
    return value;
  }) as Value[];
}

/** Reads a row as an array of its column values, in column order. */
function asArray(row: Record<string, unknown> | null | undefined): unknown[] | undefined {
  return row ? Object.values(row) : undefined;
}

/** A prepared statement, better-sqlite3 style. */
export class ShimStatement {
  readonly #stmt: Stmt;
  readonly #raw: boolean;
  /** The SQL text. */
  readonly source: string;

  /** Wraps a built-in statement. */
  constructor(stmt: Stmt, source: string, raw = false) {
    this.#stmt = stmt;
    this.source = source;
    this.#raw = raw;
  }

  /** Runs it. */
  run(...params: Params): RunResult {
    const result = this.#stmt.run(...bindable(params));
    return { changes: Number(result.changes), lastInsertRowid: result.lastInsertRowid };
  }

  /** The first row (an array in raw mode), or `undefined`. */
  get(...params: Params): unknown {
    const row = this.#stmt.get(...bindable(params)) ?? undefined;
    return this.#raw ? asArray(row) : row;
  }

  /** Every row (arrays in raw mode). */
  all(...params: Params): unknown[] {
    const rows = this.#stmt.all(...bindable(params));
    return this.#raw ? rows.map(asArray) : rows;
  }

  /** The same statement returning rows as arrays. */
  raw(on = true): ShimStatement {
    return on === this.#raw ? this : new ShimStatement(this.#stmt, this.source, on);
  }
}

/** The function `transaction(fn)` returns, with its begin variants. */
export interface ShimTransaction {
  (...args: unknown[]): unknown;
  /** `BEGIN DEFERRED`. */
  deferred: (...args: unknown[]) => unknown;
  /** `BEGIN IMMEDIATE`. */
  immediate: (...args: unknown[]) => unknown;
  /** `BEGIN EXCLUSIVE`. */
  exclusive: (...args: unknown[]) => unknown;
  /** `BEGIN`. */
  default: (...args: unknown[]) => unknown;
}

/** A connection, better-sqlite3 style, over a built-in one. */
export class ShimDatabase {
  readonly #db: Db;
  #depth = 0;
  /** The file. */
  readonly name: string;
  /** Always open until `close`. */
  open = true;

  /** Wraps an open built-in connection on `name`. */
  constructor(db: Db, name: string) {
    this.#db = db;
    this.name = name;
  }

  /** Whether a transaction is open. */
  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  /** Prepares a statement. */
  prepare(sql: string): ShimStatement {
    return new ShimStatement(this.#db.prepare(sql), sql);
  }

  /** Runs statements without parameters. */
  exec(sql: string): this {
    this.#db.exec(sql);
    return this;
  }

  /** Runs `PRAGMA source` and returns its rows (or the first value with `simple`). */
  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const rows = this.#db.prepare(`PRAGMA ${source}`).all();
    return options.simple ? (rows[0] ? Object.values(rows[0])[0] : undefined) : rows;
  }

  /** Wraps `fn` in a transaction (a savepoint when one is already open). */
  transaction(fn: (...args: unknown[]) => unknown): ShimTransaction {
    const variant = (begin: string) => (...args: unknown[]) => this.#run(begin, fn, args);
    const main = variant("BEGIN") as ShimTransaction;
    main.deferred = variant("BEGIN DEFERRED");
    main.immediate = variant("BEGIN IMMEDIATE");
    main.exclusive = variant("BEGIN EXCLUSIVE");
    main.default = main;
    return main;
  }

  #run(begin: string, fn: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    const nested = this.#depth > 0;
    this.#db.exec(nested ? `SAVEPOINT shim_${this.#depth}` : begin);
    this.#depth++;
    try {
      const result = fn(...args);
      this.#depth--;
      this.#db.exec(nested ? `RELEASE shim_${this.#depth}` : "COMMIT");
      return result;
    } catch (error) {
      this.#depth--;
      if (nested) {
        this.#db.exec(`ROLLBACK TO shim_${this.#depth}`);
        this.#db.exec(`RELEASE shim_${this.#depth}`);
      } else {
        this.#db.exec("ROLLBACK");
      }
      throw error;
    }
  }

  /** Closes the connection. */
  close(): this {
    this.open = false;
    this.#db.close();
    return this;
  }
}
