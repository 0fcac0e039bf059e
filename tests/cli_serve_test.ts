/**
 * `tasklite serve` through real processes of the current runtime: the HTTP API and a worker from
 * `--handlers` until SIGTERM, graceful and forced shutdown, and the errors it exits with.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus } from "../mod.ts";
import { scriptCommand, tempDir } from "./_helpers.ts";
import { assertNoStack, assertUsage, CLI, cli, SLOW } from "./_cli_helpers.ts";

describe("tasklite CLI", () => {
  test("serve: the HTTP API and a worker from --handlers, until SIGTERM", SLOW, async () => {
    const tmp = tempDir();
    try {
      const db = tmp.file("served.db");
      const handlers = tmp.file("handlers.ts");
      writeFileSync(
        handlers,
        "export const handlers = {\n" +
          "  echo: (payload: { text: string }) => ({ echoed: payload.text }),\n" +
          "};\n",
      );
      const queue = await TaskQueue.open(db);
      const id = await queue.enqueue({ name: "echo", taskType: "echo", payload: { text: "hi" } });
      await queue.close();

      const server = start([
        "serve",
        "--db",
        db,
        "--port",
        "0",
        "--handlers",
        handlers,
        "--concurrency",
        "2",
        "--write-token",
        "cli-test-write-token",
        "--log-level",
        "silent",
      ]);
      try {
        const line = await server.line(
          /^tasklite serving .* at (http:\/\/\S+) \(dashboard at \/\)$/m,
        );
        const url = line[1]!;
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
        assert.notEqual(new URL(url).port, "0", "the real port is printed");
        await server.line(/^worker \S+ running echo \(concurrency 2\)$/m);

        const anonymous = await fetch(`${url}stats`);
        assert.equal(anonymous.status, 401, "--write-token turns auth on");
        await anonymous.body?.cancel();
        const headers = { authorization: "Bearer cli-test-write-token" };
        let task: { status: string; result: unknown } | null = null;
        for (let tries = 0; tries < 200; tries++) {
          const response = await fetch(`${url}tasks/${id}`, { headers });
          assert.equal(response.status, 200);
          task = await response.json();
          if (task?.status === TaskStatus.COMPLETED) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.deepEqual(task?.result, { echoed: "hi" }, "the worker ran the handler");
        const stats = await fetch(`${url}stats`, { headers });
        assert.equal(stats.status, 200);
        assert.deepEqual(await stats.json(), {
          pending: 0,
          running: 0,
          completed: 1,
          failed: 0,
          cancelled: 0,
        });

        server.signal("SIGTERM");
        const exit = await server.exited;
        assert.equal(exit.code, 0, server.stderr());
        assert.match(server.stdout(), /^tasklite stopped$/m);
        assert.equal(server.stderr(), "");
        await assert.rejects(fetch(`${url}stats`, { headers }), "the port is closed");
      } finally {
        server.stop();
      }
    } finally {
      tmp.cleanup();
    }
  });

  test("serve: SIGTERM gives running tasks back; a second signal exits at once", SLOW, async () => {
    const tmp = tempDir();
    const handlers = tmp.file("hang.ts");
    writeFileSync(
      handlers,
      "export const handlers = {\n" +
        "  hang: (_payload: unknown, ctx: { signal: AbortSignal }) =>\n" +
        "    new Promise((_resolve, reject) =>\n" +
        '      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))\n' +
        "    ),\n" +
        "};\n",
    );
    const servers = [
      { db: tmp.file("graceful.db"), timeout: "200ms" },
      { db: tmp.file("forced.db"), timeout: "1m" },
    ].map(({ db, timeout }) => {
      const args = ["serve", "--db", db, "--port", "0", "--handlers", handlers];
      return start([...args, "--shutdown-timeout", timeout, "--log-level", "silent"]);
    });
    try {
      const [graceful, forced] = servers as [ReturnType<typeof start>, ReturnType<typeof start>];
      /** Enqueues a hanging task through the CLI and waits until the server's worker runs it. */
      const running = async (server: ReturnType<typeof start>, db: string) => {
        const url = (await server.line(/at (http:\/\/\S+)/))[1]!;
        const id = (await cli("enqueue", "hang", "--db", db)).stdout.trim();
        for (let tries = 0; tries < 400; tries++) {
          const task = await (await fetch(`${url}tasks/${id}`)).json();
          if (task.status === TaskStatus.RUNNING) return Number(id);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        throw new Error(`task ${id} never ran: ${server.stdout()}${server.stderr()}`);
      };
      const [gracefulId, forcedId] = await Promise.all([
        running(graceful, tmp.file("graceful.db")),
        running(forced, tmp.file("forced.db")),
      ]);

      graceful.signal("SIGTERM");
      forced.signal("SIGTERM");
      await forced.line(/^tasklite stopping: waiting up to 60000 ms for running tasks/m);
      forced.signal("SIGTERM");
      const [gracefulExit, forcedExit] = await Promise.all([graceful.exited, forced.exited]);

      assert.equal(gracefulExit.code, 0, graceful.stderr());
      assert.match(
        graceful.stdout(),
        /tasklite stopping: waiting up to 200 ms[^]*tasklite stopped/,
      );
      let queue = await TaskQueue.open(tmp.file("graceful.db"));
      const released = (await queue.getTask(gracefulId))!;
      assert.equal(released.status, TaskStatus.PENDING, "the aborted task was given back");
      assert.equal(released.retryCount, 0, "a shutdown is not a failed attempt");
      await queue.close();

      assert.equal(forcedExit.code, 143, forced.stderr());
      assert.match(forced.stderr(), /exiting without waiting for running tasks/);
      assert.doesNotMatch(forced.stdout(), /tasklite stopped/);
      queue = await TaskQueue.open(tmp.file("forced.db"));
      assert.equal(
        (await queue.getTask(forcedId))!.status,
        TaskStatus.RUNNING,
        "left to its lease",
      );
      await queue.close();
    } finally {
      for (const server of servers) server.stop();
      tmp.cleanup();
    }
  });

  test(
    "serve: a taken port or a broken handlers module exits 1, a bad option 2",
    SLOW,
    async () => {
      const tmp = tempDir();
      const first = start([
        "serve",
        "--db",
        tmp.file("a.db"),
        "--port",
        "0",
        "--log-level",
        "silent",
      ]);
      try {
        const url = new URL((await first.line(/at (http:\/\/\S+)/))[1]!);
        writeFileSync(tmp.file("no_export.ts"), "export const handler = () => 1;\n");
        writeFileSync(tmp.file("throws.ts"), 'throw new Error("handlers exploded");\n');
        const db = tmp.file("b.db");
        const [taken, badPort, orphanConcurrency, missing, noExport, throws] = await Promise.all([
          cli("serve", "--db", db, "--port", url.port),
          cli("serve", "--db", db, "--port", "99999"),
          cli("serve", "--db", db, "--concurrency", "2"),
          cli("serve", "--db", db, "--handlers", tmp.file("missing.ts")),
          cli("serve", "--db", db, "--handlers", tmp.file("no_export.ts")),
          cli("serve", "--db", db, "--handlers", tmp.file("throws.ts")),
        ]);
        assert.equal(taken.code, 1, taken.stderr);
        assert.equal(
          taken.stderr,
          `tasklite: Cannot listen on 127.0.0.1:${url.port}: the address is in use\n`,
        );
        const help = "tasklite serve --help";
        assertUsage(badPort, /Invalid --port: expected an integer from 0 to 65535/, help);
        assertUsage(orphanConcurrency, /--concurrency needs --handlers/, help);
        assertUsage(missing, /Invalid --handlers: no file .*missing\.ts/, help);
        assertUsage(noExport, /Invalid --handlers: .*no_export\.ts must export handlers/, help);
        assert.equal(throws.code, 1, throws.stderr);
        assert.match(
          throws.stderr,
          /^tasklite: Cannot load --handlers .*throws\.ts: handlers exploded$/m,
        );
        assertNoStack(throws.stderr);

        first.signal("SIGINT");
        assert.equal((await first.exited).code, 0, first.stderr());
        assert.match(first.stdout(), /^tasklite stopped$/m);
      } finally {
        first.stop();
        tmp.cleanup();
      }
    },
  );
});

/** Starts `tasklite <args>` and follows its output. */
function start(args: string[]) {
  const [command, argv] = scriptCommand(CLI, args);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    })
  );
  let done = false;
  void exited.then(() => (done = true));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    exited,
    /**
     * Sends a signal. Through `process.kill`: Deno's `child.kill()` makes the exit report the
     * signal even when the child handled it and exited with a code.
     */
    signal: (name: "SIGTERM" | "SIGINT") => process.kill(child.pid!, name),
    /** Kills it if it still runs (cleanup). */
    stop: () => void (running() && child.kill("SIGKILL")),
    stdout: () => stdout,
    stderr: () => stderr,
    /** Resolves with the match once stdout matches `pattern`; rejects if the process exits. */
    line(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} in time`)), timeoutMs);
        const check = () => {
          const match = stdout.match(pattern);
          if (match) finish(null, match);
          else if (done || child.exitCode !== null) {
            finish(new Error(`exited without ${pattern}: ${stdout}${stderr}`));
          }
        };
        const finish = (error: Error | null, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(match!);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
