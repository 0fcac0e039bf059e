/**
 * Picks the storage engine a queue opens, and loads it only then: importing `mod.ts` loads no
 * engine, no drizzle and no SQLite binding. SQLite is the only engine today; the next one (a
 * `postgres://` URL) is one more branch here.
 *
 * @module
 */

import type { Engine } from "./engine.ts";
import type { SqliteOptions } from "./queue_options.ts";

/**
 * Opens the engine the options name.
 *
 * @param options The storage options (a SQLite path or database today).
 * @param now Now, on the queue's clock.
 * @returns The engine.
 */
export async function openEngine(options: SqliteOptions, now: number): Promise<Engine> {
  const { openSqlite } = await import("./sqlite/open.ts");
  return await openSqlite(options, now);
}
