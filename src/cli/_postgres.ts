/**
 * The CLI on a PostgreSQL queue (`--db postgres://…`, `--schema <name>`): how a URL is shown (its
 * password never), and the check that a read or write command finds a queue in the schema before
 * the queue is opened, since opening migrates and would create a schema that is not there.
 *
 * @module
 */

import { CliError } from "./args.ts";
import type { OpenMode } from "./command.ts";

/**
 * Whether `db` is a PostgreSQL connection URL (the test `TaskQueue.open()` makes to pick the
 * PostgreSQL engine).
 *
 * @param db The `--db` value.
 * @returns True for a `postgres://` or `postgresql://` URL.
 */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * A URL as the CLI prints it: without its password (`postgres://user@host/db`), and with the
 * schema when one was chosen (`… schema jobs`).
 *
 * @param db The `--db` value.
 * @param schema The `--schema` value.
 * @returns The text to print.
 */
export function describeTarget(db: string, schema?: string): string {
  if (!isPostgresUrl(db)) return db;
  let shown = db;
  try {
    const url = new URL(db);
    if (url.password !== "") {
      url.password = "";
      shown = url.href;
    }
  } catch {
    shown = db.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/i, "$1@");
  }
  return `${shown} schema ${schema ?? "tasklite"}`;
}

/**
 * Checks, before a `read` or `write` command opens a PostgreSQL queue, that the schema holds one:
 * it exists and has tasklite's migrations table, and for `read`, it needs no migration (opening
 * would apply it). Touches nothing: one query on a connection of its own, closed after. `create`
 * is not checked (opening creates the schema).
 *
 * @param db The URL.
 * @param schema The schema (default `tasklite`).
 * @param mode The command's open mode.
 * @throws {CliError} No queue there, or the server cannot be reached (exit 1).
 */
export async function checkPostgresQueue(
  db: string,
  schema: string | undefined,
  mode: OpenMode,
): Promise<void> {
  if (mode === "create") return;
  const name = schema ?? "tasklite";
  const shown = describeTarget(db, schema);
  const { default: postgres } = await import("postgres");
  const { MIGRATIONS } = await import("../postgres/_migrations.ts");
  const sql = postgres(db, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  let row: { schema: boolean; migrations: boolean } | undefined;
  let version = 0;
  try {
    [row] = await sql<{ schema: boolean; migrations: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ${name}) AS schema,
        EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = ${name}
          AND tablename = 'tasklite_migrations') AS migrations`;
    if (row?.migrations) {
      const quoted = `"${name.replaceAll('"', '""')}"`;
      const [current] = await sql.unsafe(
        `SELECT coalesce(max(version), 0)::integer AS version FROM ${quoted}.tasklite_migrations`,
      );
      version = Number(current?.version ?? 0);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`Cannot open ${shown}: ${reason}`, 1);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
  if (!row?.schema) {
    throw new CliError(
      `No queue at ${shown}: the schema does not exist (choose one with --schema <name>)`,
      1,
    );
  }
  if (!row.migrations) {
    throw new CliError(`Cannot open ${shown}: the schema is not a tasklite queue`, 1);
  }
  const latest = MIGRATIONS.at(-1)!.version;
  if (mode === "read" && version < latest) {
    throw new CliError(
      `Cannot open ${shown} read-only: the schema is at version ${version} and needs migrating ` +
        `to ${latest} (a command that writes, such as serve, migrates it)`,
      1,
    );
  }
}
