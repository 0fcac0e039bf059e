/**
 * Opens the PostgreSQL engine: the entry `TaskQueue.open()` loads with a dynamic import when the
 * queue is a PostgreSQL one (a `postgres://` URL, or the `postgres` option), so that neither
 * postgres.js nor this engine loads otherwise.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Engine } from "../engine.ts";
import { StorageError, ValidationError } from "../errors.ts";
import type { OpenOptions } from "../queue_options.ts";
import { PostgresEngine } from "./engine.ts";
import { migrate } from "./_migrate.ts";
import { toStorageError } from "./_storage_error.ts";
import { PostgresNotifier } from "./_notifier.ts";

/** The schema a queue's tables live in when not told otherwise. */
export const DEFAULT_SCHEMA = "tasklite";

/** Whether `path` is a PostgreSQL connection URL. */
export function isPostgresUrl(path: unknown): path is string {
  return typeof path === "string" && /^postgres(ql)?:\/\//i.test(path);
}

/** SQLite's options, which mean nothing on PostgreSQL. */
const SQLITE_ONLY = ["database", "driver", "synchronous", "integrityCheck", "readOnly"] as const;

/**
 * Opens (creating and migrating its schema if needed) a PostgreSQL queue.
 *
 * @param options The open options: `postgres` (a URL or a postgres.js client) or a URL as
 * `path`, and `schema`.
 * @param now Recorded with the migrations it applies.
 * @returns The engine.
 * @throws {ValidationError} A SQLite-only option was given.
 * @throws {StorageError} The server cannot be reached (code `io`), …
 */
export async function openPostgres(options: OpenOptions, now: number): Promise<Engine> {
  const target = options.postgres ?? options.path;
  if (options.postgres !== undefined && options.path !== undefined) {
    throw new ValidationError(
      "Invalid open options: give either path or postgres, not both",
    );
  }
  for (const key of SQLITE_ONLY) {
    if (options[key] !== undefined) {
      throw new ValidationError(
        `Invalid open options: ${key} is a SQLite option (this queue is on PostgreSQL)`,
      );
    }
  }
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const owned = typeof target === "string";
  const sql = owned ? await connect(target) : target as Sql;
  try {
    await migrate(sql, schema, now);
    // The default notifier LISTENs before the queue is open, so that it misses nothing after.
    const notifier = options.notifier === undefined
      ? await PostgresNotifier.start(sql, schema)
      : undefined;
    return new PostgresEngine(sql, { schema, ownsClient: owned, ...(notifier && { notifier }) });
  } catch (error) {
    if (owned) await sql.end({ timeout: 1 }).catch(() => {});
    const mapped = toStorageError(error);
    if (mapped instanceof StorageError && !mapped.message.startsWith("Cannot")) {
      throw new StorageError(mapped.code, (error as Error).message, {
        action: "open the queue",
        cause: error,
      });
    }
    throw mapped;
  }
}

/** A postgres.js client of the queue's own: `bigint` columns as numbers, notices quiet. */
async function connect(url: string): Promise<Sql> {
  const { default: postgres } = await import("postgres");
  return postgres(url, {
    onnotice: () => {},
    max: 10,
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  }) as unknown as Sql;
}
