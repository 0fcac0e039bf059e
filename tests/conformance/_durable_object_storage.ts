/**
 * A stand-in for a Cloudflare Durable Object's `ctx.storage` (its SQL API and `transactionSync`)
 * over a `node:sqlite` `DatabaseSync` (present on Deno, Node.js 22 and Bun), so that the
 * conformance suite runs the queue through the Durable Object driver on every runtime.
 *
 * It is strict where the platform is (`tests/conformance/_platform_checks.ts` holds these checks,
 * and `tests/cloudflare_test.ts` runs them inside workerd too):
 * - `sql.exec(query, ...bindings)` runs one statement with bindings, or several (separated by `;`,
 *   trigger bodies kept whole) one at a time, whose last one takes the bindings; the cursor
 *   reflects the last (its rows, and its writes in `rowsWritten`, its triggers' included). Text with no statement (empty, spaces, or only a comment, also after the
 *   last `;`) throws `SQL code did not contain a statement.`
 * - A transaction statement (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`) throws
 *   when its turn comes (the statements before it have run): transactions go through
 *   `transactionSync(fn)`, which commits when `fn` returns, rolls back when it throws, and nests
 *   (savepoints on the underlying database).
 * - A `PRAGMA` outside the few the platform allows throws `not authorized: SQLITE_AUTH`, as do
 *   `ATTACH` and `DETACH`.
 * - Bindings are strings, numbers, `null` or bytes (`ArrayBuffer` or a view); a BigInt throws a
 *   `TypeError`, and so does a count that does not match the statement's parameters; more than 100
 *   bindings throw; a compound SELECT takes five terms (where node:sqlite can lower its limit).
 * - Blobs come back as `ArrayBuffer`s; rows are plain objects.
 *
 * Unlike the platform, it runs each statement eagerly (the cursor holds the rows already),
 * `columnNames` is read from the first row (empty without rows), `rowsRead` counts the rows
 * returned; a boolean, `undefined`, an object or a `Date` binding throws a `TypeError` (the
 * platform stores them as text or `NULL`, which would hide a driver's bug); and a
 * `transactionSync` callback that returns a promise throws (the platform would commit before the
 * promise settles, which is a bug in the caller either way).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

/** The most bindings one `sql.exec` call takes on the platform. */
const MAX_BOUND_PARAMETERS = 100;
/** What the platform throws for text without a statement (empty, or only a comment). */
export const NO_STATEMENT_MESSAGE = "SQL code did not contain a statement.";
/** The most terms of one compound SELECT on the platform. */
const MAX_COMPOUND_SELECT = 5;

/** A value the Durable Object SQL API stores and returns. */
export type SqlStorageValue = ArrayBuffer | string | number | null;

/** A row as the SQL API returns it. */
export type SqlRow = Record<string, SqlStorageValue>;

/** The message the platform throws for a transaction statement in `sql.exec` (workerd's, word for word). */
export const TRANSACTION_STATEMENT_MESSAGE =
  "To execute a transaction, please use the state.storage.transaction() or " +
  "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT " +
  "statements. " +
  "The JavaScript API is safer because it will automatically roll back on exceptions, and " +
  "because it interacts correctly with Durable Objects' automatic atomic write coalescing.";

const TRANSACTION_KEYWORDS = new Set([
  "BEGIN",
  "COMMIT",
  "END",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
]);
const DENIED_KEYWORDS = new Set(["ATTACH", "DETACH"]);
/** The PRAGMAs a Durable Object allows; the rest are not authorized. */
const ALLOWED_PRAGMAS = new Set([
  "table_list",
  "table_info",
  "table_xinfo",
  "index_list",
  "index_info",
  "index_xinfo",
  "foreign_key_list",
  "foreign_key_check",
  "foreign_keys",
  "defer_foreign_keys",
  "case_sensitive_like",
  "ignore_check_constraints",
  "legacy_alter_table",
  "recursive_triggers",
  "reverse_unordered_selects",
  "quick_check",
  "optimize",
]);

/** The cursor `sql.exec` returns: iterable rows, and what the statement read and wrote. */
export class FakeSqlCursor implements IterableIterator<SqlRow> {
  readonly #rows: SqlRow[];
  #next = 0;
  /** Column names (read from the first row; empty when there is none). */
  readonly columnNames: string[];
  /** Rows the statement returned. */
  readonly rowsRead: number;
  /** Rows the statement inserted, updated or deleted. */
  readonly rowsWritten: number;

  /**
   * Wraps rows already read.
   *
   * @param rows The rows.
   * @param rowsWritten Rows written by the statements of the `exec` call.
   */
  constructor(rows: SqlRow[], rowsWritten: number) {
    this.#rows = rows;
    this.columnNames = rows[0] ? Object.keys(rows[0]) : [];
    this.rowsRead = rows.length;
    this.rowsWritten = rowsWritten;
  }

  /** The next row. */
  next(): IteratorResult<SqlRow, undefined> {
    const row = this.#rows[this.#next];
    if (row === undefined) return { done: true, value: undefined };
    this.#next++;
    return { done: false, value: row };
  }

  /** Every remaining row. */
  toArray(): SqlRow[] {
    const rest = this.#rows.slice(this.#next);
    this.#next = this.#rows.length;
    return rest;
  }

  /** The only row; throws when there are none or several, as the platform does. */
  one(): SqlRow {
    const rest = this.toArray();
    if (rest.length === 0) {
      throw new Error("Expected exactly one result from SQL query, but got no results.");
    }
    if (rest.length > 1) {
      throw new Error("Expected exactly one result from SQL query, but got multiple results.");
    }
    return rest[0]!;
  }

  /** The remaining rows as arrays of values. */
  raw(): IterableIterator<SqlStorageValue[]> {
    return this.toArray().map((row) => Object.values(row))[Symbol.iterator]();
  }

  /** The rows. */
  [Symbol.iterator](): IterableIterator<SqlRow> {
    return this;
  }
}

/** A fake `ctx.storage`: the SQL API, `transactionSync`, and what a test needs to look inside. */
export interface FakeDurableObjectStorage {
  /** The SQL API. */
  readonly sql: {
    /** Runs one statement with bindings, or several without. */
    exec(query: string, ...bindings: unknown[]): FakeSqlCursor;
    /** The database's size in bytes. */
    readonly databaseSize: number;
  };
  /** Runs `fn` in a transaction (nested calls are savepoints). */
  transactionSync<T>(fn: () => T): T;
  /** How many `exec` calls and outermost transactions ran, for tests that count them. */
  readonly counters: { exec: number; transactions: number };
  /** Closes the underlying database (a real Durable Object has nothing to close). */
  close(): void;
}

/**
 * Opens a fake Durable Object storage over a SQLite file (or `:memory:`). Several fakes over one
 * file see the same data, as a restarted Durable Object sees its storage.
 *
 * @param path The file.
 * @returns The storage.
 */
export function fakeDurableObjectStorage(path: string): FakeDurableObjectStorage {
  const db = new DatabaseSync(path);
  // The platform's storage layer is not a file another connection can lock; the fake's file may
  // be opened twice in one test, so it waits instead of failing on the other's lock.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000");
  // The platform's SQLite allows five terms per compound SELECT (seen in workerd); node:sqlite
  // can lower its limit on Deno and Bun (Node 22 has no `limits`).
  const limits = (db as { limits?: { compoundSelect: number } }).limits;
  if (limits) limits.compoundSelect = MAX_COMPOUND_SELECT;
  const cache = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  const totalChanges = db.prepare("SELECT total_changes() AS n");
  const pageCount = db.prepare(
    "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()",
  );
  const counters = { exec: 0, transactions: 0 };
  let depth = 0;

  const prepare = (text: string, cached: boolean) => {
    let statement = cached ? cache.get(text) : undefined;
    if (!statement) {
      statement = db.prepare(text);
      if (cached) {
        if (cache.size >= 1000) cache.clear();
        cache.set(text, statement);
      }
    }
    return statement;
  };

  const exec = (query: string, ...bindings: unknown[]): FakeSqlCursor => {
    counters.exec++;
    if (typeof query !== "string") throw new TypeError("sql.exec() needs a query string");
    // The platform's limit (developers.cloudflare.com/durable-objects/platform/limits/).
    if (bindings.length > MAX_BOUND_PARAMETERS) {
      throw new Error(`Too many SQL variables: ${bindings.length} (at most 100)`);
    }
    const values = bindings.map(toBinding);
    const statements = splitStatements(query);
    if (statements.length === 0) throw new Error(NO_STATEMENT_MESSAGE);
    let before = 0;
    let rows: SqlRow[] = [];
    // One at a time, as the platform: the statements before a refused one have run.
    statements.forEach((statement, i) => {
      if (statement.keyword === "") throw new Error(NO_STATEMENT_MESSAGE);
      authorize(statement);
      const last = i === statements.length - 1;
      const bound = last ? values : [];
      if (statement.parameters !== bound.length) {
        throw new Error("Wrong number of parameter bindings for SQL query.");
      }
      const prepared = prepare(statement.text, statements.length === 1);
      // The cursor counts the last statement's writes (its triggers' included), as the platform's.
      if (last) before = Number(totalChanges.get()!.n);
      const result = prepared.all(...bound as never[]) as Record<string, unknown>[];
      if (last) rows = result.map(toRow);
    });
    return new FakeSqlCursor(rows, Number(totalChanges.get()!.n) - before);
  };

  return {
    sql: {
      exec,
      get databaseSize() {
        return Number(pageCount.get()!.n);
      },
    },
    transactionSync<T>(fn: () => T): T {
      if (typeof fn !== "function") throw new TypeError("transactionSync() needs a function");
      const level = depth;
      const savepoint = `fake_do_${level}`;
      db.exec(level === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
      if (level === 0) counters.transactions++;
      depth = level + 1;
      const undo = () => {
        depth = level;
        db.exec(level === 0 ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      };
      let result: T;
      try {
        result = fn();
        if (typeof (result as { then?: unknown } | null)?.then === "function") {
          throw new TypeError(
            "transactionSync() callback returned a promise: it must be synchronous",
          );
        }
      } catch (error) {
        undo();
        throw error;
      }
      try {
        db.exec(level === 0 ? "COMMIT" : `RELEASE ${savepoint}`);
      } catch (error) {
        undo();
        throw error;
      }
      depth = level;
      return result;
    },
    counters,
    close() {
      cache.clear();
      db.close();
    },
  };
}

/** Refuses what a Durable Object refuses. */
function authorize(statement: Statement): void {
  const keyword = statement.keyword;
  if (TRANSACTION_KEYWORDS.has(keyword)) throw new Error(TRANSACTION_STATEMENT_MESSAGE);
  if (DENIED_KEYWORDS.has(keyword)) throw new Error("not authorized: SQLITE_AUTH");
  if (keyword === "PRAGMA") {
    const name = statement.second.split(".").pop()!.toLowerCase();
    if (!ALLOWED_PRAGMAS.has(name)) throw new Error("not authorized: SQLITE_AUTH");
  }
}

/**
 * A binding as the platform accepts it, converted for node:sqlite. Stricter than the platform,
 * which stores `true` as the text `'true'`, an object as `'[object Object]'`, a `Date` as its
 * `toString()`, and `undefined` and `NaN` as `NULL`: a driver that passed one would be silently
 * wrong there, so here it throws. A BigInt throws on the platform too.
 */
function toBinding(value: unknown, index: number): string | number | null | Uint8Array {
  if (typeof value === "bigint") throw new TypeError("Cannot convert a BigInt value to a number");
  if (value === null || typeof value === "string" || typeof value === "number") return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new TypeError(
    `Failed to execute 'exec' on 'SqlStorage': binding ${index + 1} is a ${typeof value}, ` +
      "not a string, number, null, ArrayBuffer or ArrayBufferView",
  );
}

/** A result row as the platform returns it: a plain object, blobs as `ArrayBuffer`s. */
function toRow(row: Record<string, unknown>): SqlRow {
  const out: SqlRow = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Uint8Array
      ? value.slice().buffer as ArrayBuffer
      : value as SqlStorageValue;
  }
  return out;
}

/** One statement of an `exec` call. */
interface Statement {
  /** Its text. */
  text: string;
  /** Its first keyword, upper case. */
  keyword: string;
  /** The word after it (a PRAGMA's name). */
  second: string;
  /** How many parameters it takes. */
  parameters: number;
}

/**
 * Splits SQL text into statements at top-level semicolons: not inside strings, quoted names or
 * comments, nor inside a trigger's `BEGIN … END` body. A piece of only spaces is dropped; one of
 * only comments is kept with an empty `keyword` (the platform refuses it). Counts each statement's parameters (`?`, `?NNN`, `:name`, `@name`, `$name`).
 */
export function splitStatements(sql: string): Statement[] {
  const statements: Statement[] = [];
  let start = 0;
  let words: string[] = [];
  let depth = 0; // BEGIN/CASE … END nesting inside a trigger body
  let highest = 0;
  const named = new Map<string, number>();
  let commented = false; // the piece has a comment
  const finish = (end: number) => {
    if (words.length === 0 && commented) {
      // Only a comment: the platform refuses it (plain spaces after the last `;` are fine).
      statements.push({ text: sql.slice(start, end), keyword: "", second: "", parameters: 0 });
    }
    if (words.length > 0) {
      statements.push({
        text: sql.slice(start, end),
        keyword: words[0]!,
        second: words[1] ?? "",
        parameters: highest,
      });
    }
    start = end + 1;
    commented = false;
    words = [];
    depth = 0;
    highest = 0;
    named.clear();
  };
  const isTrigger = () =>
    words[0] === "CREATE" &&
    (words[1] === "TRIGGER" ||
      ((words[1] === "TEMP" || words[1] === "TEMPORARY") && words[2] === "TRIGGER"));
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      i = skipQuoted(sql, i, c);
      if (words.length === 0) words.push("?");
      continue;
    }
    if (c === "[") {
      const end = sql.indexOf("]", i + 1);
      i = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
      commented = true;
      continue;
    }
    if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
      commented = true;
      continue;
    }
    if (c === "?") {
      let j = i + 1;
      while (j < sql.length && /[0-9]/.test(sql[j]!)) j++;
      highest = j > i + 1 ? Math.max(highest, Number(sql.slice(i + 1, j))) : highest + 1;
      i = j;
      continue;
    }
    if ((c === ":" || c === "@" || c === "$") && /[A-Za-z_]/.test(sql[i + 1] ?? "")) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      const name = sql.slice(i, j);
      if (!named.has(name)) named.set(name, ++highest);
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$.]/.test(sql[j]!)) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (isTrigger()) {
        if (word === "BEGIN" || word === "CASE") depth++;
        else if (word === "END") depth--;
      }
      if (words.length < 3) words.push(word);
      i = j;
      continue;
    }
    if (c === ";" && depth <= 0) {
      finish(i);
      i++;
      continue;
    }
    if (!/\s/.test(c) && words.length === 0) words.push(c);
    i++;
  }
  finish(sql.length);
  return statements;
}

/** The index after a quoted string or name starting at `i` (a doubled quote escapes it). */
function skipQuoted(sql: string, i: number, quote: string): number {
  let j = i + 1;
  while (j < sql.length) {
    if (sql[j] === quote) {
      if (sql[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return sql.length;
}
