/**
 * Picks the storage engine a queue opens, and loads it only then: importing `mod.ts` loads no
 * engine, no drizzle, no SQLite binding and no PostgreSQL driver. A `postgres://` URL (as the
 * path, or the `postgres` option) opens the PostgreSQL engine; anything else, SQLite.
 *
 * @module
 */

import type { Engine } from "./engine.ts";
import type { OpenOptions } from "./queue_options.ts";

/**
 * Opens the engine the options name.
 *
 * @param options The storage options (a SQLite path or database, or a PostgreSQL URL or client).
 * @param now Now, on the queue's clock.
 * @returns The engine.
 */
export async function openEngine(options: OpenOptions, now: number): Promise<Engine> {
  if (options.postgres !== undefined || /^postgres(ql)?:\/\//i.test(options.path ?? "")) {
    const { openPostgres } = await import("./postgres/open.ts");
    return await openPostgres(options, now);
  }
  const { openSqlite } = await import("./sqlite/open.ts");
  return await openSqlite(options, now);
}
