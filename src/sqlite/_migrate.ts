/**
 * Applies the numbered migrations a database lacks, in one write transaction of the driver's own
 * kind (so that it runs in a Durable Object too).
 *
 * @module
 */

import type { AdoptedDriver } from "../drivers/driver.ts";
import { StorageError } from "../errors.ts";
import { MIGRATIONS } from "./_migrations.ts";

/**
 * Brings the schema up to the latest migration. On a read-only connection it migrates nothing:
 * it checks that the file is a queue at the latest version.
 *
 * @param driver The connection.
 * @param now Recorded as each migration's `applied_at`.
 * @throws {Error} The schema is newer than this tasklite.
 * @throws {StorageError} Read-only: code `corrupt` for a file that is not a queue, `readonly` for
 * a queue whose schema is older than this tasklite's (a read-write open migrates it).
 */
export function migrate(driver: AdoptedDriver, now: number): void {
  if (driver.readOnly) return checkSchema(driver);
  driver.transaction(() => {
    driver.exec(`CREATE TABLE IF NOT EXISTS tasklite_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const current = versionOf(driver);
    const record = driver.prepare(
      "INSERT INTO tasklite_migrations (version, name, applied_at) VALUES (?, ?, ?)",
    );
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      driver.exec(migration.sql);
      record.run([migration.version, migration.name, now]);
    }
  });
}

/** The schema's version, checked not to be newer than this tasklite's. */
function versionOf(driver: AdoptedDriver): number {
  const row = driver.prepare("SELECT max(version) AS version FROM tasklite_migrations").get([]);
  const current = Number(row?.version ?? 0);
  const latest = MIGRATIONS.at(-1)!.version;
  if (current > latest) {
    throw new Error(
      `Cannot open the queue: its schema is at version ${current}, newer than this tasklite (${latest})`,
    );
  }
  return current;
}

/** A read-only open: the file must be a queue whose schema needs no migration. */
function checkSchema(driver: AdoptedDriver): void {
  const action = "open the queue read-only";
  const table = driver.prepare(
    "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'tasklite_migrations'",
  ).get([]);
  if (!table) {
    throw new StorageError(
      "corrupt",
      "the file is not a tasklite queue (no tasklite_migrations table); nothing was changed",
      { action },
    );
  }
  const current = versionOf(driver);
  const latest = MIGRATIONS.at(-1)!.version;
  if (current < latest) {
    throw new StorageError(
      "readonly",
      `its schema is at version ${current}, older than this tasklite's (${latest}); open it read-write once to migrate it`,
      { action },
    );
  }
}
