/**
 * Applies the PostgreSQL engine's migrations a schema lacks, in one transaction that first takes
 * a transaction-scoped advisory lock on the schema's name: ten processes opening a new queue at
 * once migrate it once (the others wait, then find it migrated).
 *
 * @module
 */

import type { Sql } from "postgres";
import { MIGRATIONS } from "./_migrations.ts";

/** The schema name, quoted as an identifier. */
export function quoted(schema: string): string {
  return `"${schema.replaceAll('"', '""')}"`;
}

/**
 * Creates the schema if needed and brings it up to the latest migration.
 *
 * @param sql The client.
 * @param schema The schema's name.
 * @param now Recorded as each migration's `applied_at`.
 * @throws {Error} The schema is newer than this tasklite.
 */
export async function migrate(sql: Sql, schema: string, now: number): Promise<void> {
  const s = quoted(schema);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`tasklite migrate ${schema}`}, 0))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${s};
      CREATE TABLE IF NOT EXISTS ${s}.tasklite_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    const [row] = await tx.unsafe(
      `SELECT coalesce(max(version), 0)::integer AS version FROM ${s}.tasklite_migrations`,
    );
    const current = Number(row?.version ?? 0);
    const latest = MIGRATIONS.at(-1)!.version;
    if (current > latest) {
      throw new Error(
        `Cannot open the queue: schema ${schema} is at version ${current}, newer than this tasklite (${latest})`,
      );
    }
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      await tx.unsafe(migration.sql.replaceAll("$S", s));
      await tx.unsafe(
        `INSERT INTO ${s}.tasklite_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
        [migration.version, migration.name, now],
      );
    }
  });
}
