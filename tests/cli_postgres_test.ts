/**
 * The `tasklite` CLI on a PostgreSQL queue (`--db postgres://…`, `--schema`), through real
 * processes of the current runtime: enqueue creates the schema, stats/list/show read it, serve
 * runs its tasks with --handlers; read and write commands refuse a schema that does not exist
 * and create none; a password in the URL is never printed. Needs `TASKLITE_PG_URL` (skipped
 * visibly without it), except the check that `--schema` needs a PostgreSQL `--db`.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runScript, scriptCommand, tempDir } from "./_helpers.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const PG_URL = process.env.TASKLITE_PG_URL;
const skip = PG_URL ? false : "engine postgres: TASKLITE_PG_URL is not set";
if (skip) console.log(`SKIP cli_postgres_test: ${skip}`);
const SLOW = { timeout: 120_000 };

/** Runs `tasklite <args>` in a process. */
const cli = (...args: string[]) => runScript(CLI, args);

/** Runs `body` with a fresh schema name and a client, dropping the schema after. */
async function withSchema(
  body: (schema: string, sql: import("postgres").Sql) => Promise<void>,
): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(PG_URL!, { onnotice: () => {}, max: 1 });
  const schema = `tasklite_cli_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  try {
    await body(schema, sql);
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end({ timeout: 5 });
  }
}

/** Whether the schema exists. */
async function exists(sql: import("postgres").Sql, schema: string): Promise<boolean> {
  const [row] = await sql`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${schema}`;
  return row?.n === 1;
}

describe("tasklite CLI on PostgreSQL", () => {
  test("--schema needs a postgres:// --db", async () => {
    const result = await cli("stats", "--db", "tasks.db", "--schema", "jobs");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^tasklite: --schema needs a postgres:\/\/ --db/);
    assert.equal(result.stdout, "");
  });

  test("enqueue, stats, list, show, then serve --handlers runs the task", {
    ...SLOW,
    skip,
  }, () =>
    withSchema(async (schema, sql) => {
      const db = ["--db", PG_URL!, "--schema", schema];
      const enqueued = await cli("enqueue", "echo", "--payload", '{"text":"hi"}', ...db);
      assert.equal(enqueued.code, 0, enqueued.stderr);
      const id = Number(enqueued.stdout.trim());
      assert.ok(Number.isSafeInteger(id) && id > 0, enqueued.stdout);
      assert.ok(await exists(sql, schema), "enqueue created the schema");

      const stats = await cli("stats", "--json", ...db);
      assert.equal(stats.code, 0, stats.stderr);
      assert.deepEqual(JSON.parse(stats.stdout), {
        pending: 1,
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
      });
      const listed = await cli("list", "pending", ...db);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`^${id}\\s+pending\\s+NORMAL\\s+echo\\s+echo$`, "m"));
      const shown = await cli("show", String(id), ...db);
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(JSON.parse(shown.stdout).payload, { text: "hi" });

      const tmp = tempDir();
      const handlers = tmp.file("handlers.ts");
      writeFileSync(
        handlers,
        "export const handlers = {\n" +
          "  echo: (payload: { text: string }) => ({ echoed: payload.text }),\n" +
          "};\n",
      );
      const [command, argv] = scriptCommand(CLI, [
        "serve",
        ...db,
        "--port",
        "0",
        "--handlers",
        handlers,
        "--log-level",
        "silent",
      ]);
      const server = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      server.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      server.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
      const exited = new Promise<number | null>((resolve) =>
        server.on("close", (code) => resolve(code))
      );
      try {
        let task: { status: string; result: unknown } | null = null;
        for (let tries = 0; tries < 600 && task?.status !== "completed"; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          const url = /at (http:\/\/\S+)/.exec(out)?.[1];
          if (server.exitCode !== null) assert.fail(`serve exited: ${out}${err}`);
          if (!url) continue;
          const response = await fetch(`${url}tasks/${id}`);
          assert.equal(response.status, 200);
          task = await response.json();
        }
        assert.deepEqual(task?.result, { echoed: "hi" }, "the worker ran the handler");
        assert.match(out, new RegExp(`^tasklite serving \\S+ schema ${schema} at `, "m"));
        process.kill(server.pid!, "SIGTERM");
        assert.equal(await exited, 0, err);
        assert.match(out, /^tasklite stopped$/m);
      } finally {
        if (server.exitCode === null) server.kill("SIGKILL");
        await exited;
        tmp.cleanup();
      }
      const after = await cli("stats", "--json", ...db);
      assert.equal(JSON.parse(after.stdout).completed, 1, after.stderr);
    }));

  test("read and write commands refuse a missing schema and create none; no password shown", {
    ...SLOW,
    skip,
  }, () =>
    withSchema(async (schema, sql) => {
      const url = new URL(PG_URL!);
      url.password = "not-shown-secret";
      const db = ["--db", url.href, "--schema", schema];
      const commands = [
        ["stats"],
        ["list", "pending"],
        ["show", "1"],
        ["schedules"],
        [
          "retry",
          "1",
        ],
        ["cancel", "1"],
        ["retry-failed"],
        ["prune", "--older-than", "1d"],
      ];
      const results = await Promise.all(commands.map((args) => cli(...args, ...db)));
      for (const [i, result] of results.entries()) {
        const what = commands[i]!.join(" ");
        assert.equal(result.code, 1, `${what}: ${result.stderr}`);
        assert.equal(result.stdout, "", what);
        assert.match(
          result.stderr,
          new RegExp(`^tasklite: No queue at \\S+ schema ${schema}: the schema does not exist`),
          what,
        );
        assert.doesNotMatch(result.stderr, /not-shown-secret/, `${what}: no password`);
        assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
      }
      assert.equal(await exists(sql, schema), false, "no schema was created");

      // A schema that exists but holds no queue (an application's) is refused as well.
      await sql.unsafe(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".users (id int)`);
      const foreign = await cli("stats", ...db);
      assert.equal(foreign.code, 1);
      assert.match(foreign.stderr, /the schema is not a tasklite queue/);
      const [row] =
        await sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = ${schema}`;
      assert.equal(row?.n, 1, "nothing was added to it");
    }));
});
