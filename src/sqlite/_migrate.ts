/**
 * Applies the numbered migrations a database lacks, in one write transaction of the driver's own
 * kind (so that it runs in a Durable Object too).
 *
 * @module
 */

import type { AdoptedDriver } from "../drivers/driver.ts";
import { MIGRATIONS } from "./_migrations.ts";

/**
 * Brings the schema up to the latest migration.
 *
 * @param driver The connection.
 * @param now Recorded as each migration's `applied_at`.
 * @throws {Error} The schema is newer than this tasklite.
 */
export function migrate(driver: AdoptedDriver, now: number): void {
  driver.transaction(() => {
    driver.exec(`CREATE TABLE IF NOT EXISTS tasklite_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const row = driver.prepare("SELECT max(version) AS version FROM tasklite_migrations").get([]);
    const current = Number(row?.version ?? 0);
    const latest = MIGRATIONS.at(-1)!.version;
    if (current > latest) {
      throw new Error(
        `Cannot open the queue: its schema is at version ${current}, newer than this tasklite (${latest})`,
      );
    }
    const record = driver.prepare(
      "INSERT INTO tasklite_migrations (version, name, applied_at) VALUES (?, ?, ?)",
    );
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      driver.exec(migration.sql);
      record.run([migration.version, migration.name, now]);
    }
  });
}
