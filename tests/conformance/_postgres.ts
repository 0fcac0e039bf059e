/**
 * The conformance suite's PostgreSQL engine: each `open` is a queue on a new schema of the server
 * `TASKLITE_PG_URL` names (a random name), `reopen` a new client on the same schema, `writeRaw`
 * runs SQL on that schema through a client of its own, `cleanup` drops the schemas.
 *
 * @module
 */

import { type OpenOptions, TaskQueue } from "../../mod.ts";
import type { ConformanceEngine } from "./_harness.ts";

/**
 * Tests the PostgreSQL engine does not pass yet, and why: the gap list.
 */
export const POSTGRES_GAPS: Record<string, string> = {};

/**
 * The engine entry for `url`.
 *
 * @param url A `postgres://` URL of a server where schemas may be created and dropped.
 * @returns The entry.
 */
export function onPostgres(url: string): ConformanceEngine {
  const schemas = new WeakMap<TaskQueue, string>();
  const created: string[] = [];
  const at = async (schema: string, options: OpenOptions) => {
    const queue = await TaskQueue.open({ ...options, postgres: url, schema });
    schemas.set(queue, schema);
    return queue;
  };
  const schemaOf = (queue: TaskQueue) => {
    const schema = schemas.get(queue);
    if (schema === undefined) throw new Error("postgres: a queue this engine did not open");
    return schema;
  };
  const admin = async <T>(body: (sql: import("postgres").Sql) => Promise<T>): Promise<T> => {
    const { default: postgres } = await import("postgres");
    const sql = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      return await body(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  return {
    name: "postgres",
    open(options = {}) {
      const schema = `tasklite_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      created.push(schema);
      return at(schema, options);
    },
    reopen(queue, options = {}) {
      return at(schemaOf(queue), options);
    },
    writeRaw(queue, text) {
      const schema = schemaOf(queue);
      return admin(async (sql) => {
        await sql.unsafe(`SET search_path TO "${schema}"; ${text}`);
      });
    },
    async cleanup() {
      const drop = created.splice(0);
      if (drop.length === 0) return;
      await admin(async (sql) => {
        for (const schema of drop) await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      });
    },
    skip: POSTGRES_GAPS,
  };
}
