/**
 * The `tasklite` CLI's commands on a queue file, through real processes of the current runtime
 * (`deno run -A cli.ts`, `bun cli.ts`, `node cli.ts`): output, exit codes and stderr. Help for
 * every command is checked in process through `main()`, which the processes run. `serve` is in
 * `cli_serve_test.ts`.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskQueue } from "../mod.ts";
import { main } from "../cli.ts";
import { tempDir } from "./_helpers.ts";
import { assertNoStack, assertUsage, cli, SLOW } from "./_cli_helpers.ts";

/** Runs `main(args)` in process, capturing its output. */
async function inProcess(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

/** `stats` as a map. */
function parseStats(stdout: string): Record<string, number> {
  return Object.fromEntries(
    stdout.trim().split("\n").map((line) => {
      const [status, count] = line.trim().split(/\s+/);
      return [status!, Number(count)];
    }),
  );
}

describe("tasklite CLI", () => {
  test(
    "enqueue, stats, list, show, cancel, retry, retry-failed, prune on one file",
    SLOW,
    async () => {
      const tmp = tempDir();
      try {
        const db = tmp.file("cli.db");
        const email = await cli(
          "enqueue",
          "send_email",
          "--db",
          db,
          "--name",
          "Welcome Ada",
          "--payload",
          '{"to":"ada@example.com"}',
          "--priority",
          "high",
        );
        assert.equal(email.code, 0, email.stderr);
        assert.equal(email.stdout, "1\n");
        const [resize, keyed] = await Promise.all([
          cli(
            "--db",
            db,
            "enqueue",
            "resize",
            "--delay-ms",
            "60000",
            "--max-retries",
            "0",
            "--concurrency-key",
            "tenant-7",
          ),
          cli("enqueue", "report", "--db", db, "--unique-key", "daily", "--priority", "4"),
        ]);
        const again = await cli("enqueue", "report", "--db", db, "--unique-key", "daily");
        for (const result of [resize, keyed, again]) assert.equal(result.code, 0, result.stderr);
        assert.equal(keyed.stdout, again.stdout, "a live unique key gives the same id back");
        assert.deepEqual(
          [email, resize, keyed].map((r) => r.stdout.trim()).sort(),
          ["1", "2", "3"],
        );

        let queue = await TaskQueue.open(db);
        const first = (await queue.getTask(1))!;
        assert.deepEqual(first.payload, { to: "ada@example.com" });
        assert.equal(first.name, "Welcome Ada");
        assert.equal(first.priority, 3);
        const resizeTask = (await queue.getTask(Number(resize.stdout)))!;
        assert.equal(resizeTask.name, "resize", "the name defaults to the task type");
        assert.equal(resizeTask.maxRetries, 0);
        assert.equal(resizeTask.concurrencyKey, "tenant-7");
        assert.equal(first.concurrencyKey, null);
        const delay = resizeTask.scheduledAt - resizeTask.createdAt;
        assert.ok(delay > 55_000 && delay <= 60_000, `--delay-ms: due ${delay} ms after creation`);
        assert.equal((await queue.getTask(Number(keyed.stdout)))!.priority, 4);
        await queue.close();

        const [stats, statsJson, listed, paged, listJson, none, shown] = await Promise.all([
          cli("stats", "--db", db),
          cli("stats", "--json", "--db", db),
          cli("list", "pending", "--db", db),
          cli("list", "pending", "--limit", "1", "--offset", "2", "--db", db),
          cli("list", "pending", "--json", "--db", db),
          cli("list", "failed", "--db", db),
          cli("show", "1", "--db", db),
        ]);
        assert.equal(stats.code, 0, stats.stderr);
        assert.deepEqual(parseStats(stats.stdout), {
          pending: 3,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
        });
        assert.match(stats.stdout, /^pending {4}3$/m, "an aligned table");
        assert.deepEqual(JSON.parse(statsJson.stdout), parseStats(stats.stdout));

        assert.equal(listed.code, 0, listed.stderr);
        const lines = listed.stdout.trimEnd().split("\n");
        assert.equal(lines.length, 3);
        // Pending tasks in claim order: priority 4, then HIGH, then the NORMAL one due later.
        const claimOrder = [keyed, email, resize].map((r) => r.stdout.trim());
        assert.deepEqual(lines.map((line) => line.split(" ")[0]), claimOrder, "next to run first");
        assert.match(lines[1]!, /^1 +pending +HIGH +send_email +Welcome Ada$/);
        assert.equal(paged.code, 0, paged.stderr);
        const words = (text: string) => text.trim().split(/\s+/);
        assert.deepEqual(words(paged.stdout), words(lines[2]!), "--limit and --offset page");
        assert.deepEqual(
          (JSON.parse(listJson.stdout) as { id: number }[]).map((t) => String(t.id)),
          claimOrder,
        );
        assert.equal(none.code, 0);
        assert.equal(none.stdout, "");
        assert.match(none.stderr, /No failed tasks/);
        assert.equal(shown.code, 0, shown.stderr);
        assert.equal(JSON.parse(shown.stdout).name, "Welcome Ada");

        const cancelled = await cli("cancel", "1", "--db", db);
        assert.equal(cancelled.code, 0, cancelled.stderr);
        assert.equal(cancelled.stdout, "cancelled\n");
        const twice = await cli("cancel", "1", "--db", db);
        assert.equal(twice.code, 1);
        assert.equal(twice.stderr, "tasklite: Cannot cancel task 1: it is cancelled\n");
        const retried = await cli("retry", "1", "--db", db);
        assert.equal(retried.code, 0, retried.stderr);
        assert.equal(retried.stdout, "pending\n");

        // A dead letter, with an error to show.
        queue = await TaskQueue.open(db);
        const claimed = (await queue.dequeue({ taskTypes: ["send_email"] }))!;
        await queue.failTask(claimed, new Error("SMTP said no\nand more"), { retry: false });
        await queue.close();
        const [failed, other] = await Promise.all([
          cli("list", "failed", "--db", db),
          cli("retry-failed", "--task-type", "other", "--db", db),
        ]);
        assert.match(
          failed.stdout,
          /^1 +failed +HIGH +send_email +Welcome Ada +error: SMTP said no and more$/m,
        );
        assert.equal(other.stdout, "0 redriven, 0 remaining\n");
        const redriven = await cli("retry-failed", "--task-type", "send_email", "--db", db);
        assert.equal(redriven.code, 0, redriven.stderr);
        assert.equal(redriven.stdout, "1 redriven, 0 remaining\n");

        // Prune: cancel one, then delete finished tasks by age.
        assert.equal((await cli("cancel", resize.stdout.trim(), "--db", db)).code, 0);
        const [young, onlyFailed] = await Promise.all([
          cli("prune", "--older-than", "1h", "--db", db),
          cli("prune", "--older-than", "0", "--status", "failed", "--db", db),
        ]);
        assert.equal(young.code, 0, young.stderr);
        assert.equal(young.stdout, "0\n", "nothing finished an hour ago");
        assert.equal(onlyFailed.stdout, "0\n", "--status restricts");
        const pruned = await cli(
          "prune",
          "--older-than",
          "0s",
          "--status",
          "cancelled",
          "--status",
          "completed",
          "--db",
          db,
        );
        assert.equal(pruned.code, 0, pruned.stderr);
        assert.equal(pruned.stdout, "1\n");
        const after = await cli("stats", "--json", "--db", db);
        assert.deepEqual(JSON.parse(after.stdout), {
          pending: 2,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
        });
      } finally {
        tmp.cleanup();
      }
    },
  );

  test("schedules lists what the queue schedules", SLOW, async () => {
    const tmp = tempDir();
    try {
      const db = tmp.file("schedules.db");
      const queue = await TaskQueue.open(db);
      await queue.schedule("nightly", "0 3 * * *", {
        taskType: "cleanup",
        timezone: "Europe/Paris",
      });
      await queue.close();
      const [text, json] = await Promise.all([
        cli("schedules", "--db", db),
        cli("schedules", "--json", "--db", db),
      ]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /^nightly +0 3 \* \* \* +Europe\/Paris +cleanup +next: \d{4}-\d\d-\d\dT/,
      );
      assert.deepEqual((JSON.parse(json.stdout) as { name: string }[]).map((s) => s.name), [
        "nightly",
      ]);
    } finally {
      tmp.cleanup();
    }
  });

  test(
    "exit codes: 2 for usage errors, 1 for failures, with one line on stderr",
    SLOW,
    async () => {
      const tmp = tempDir();
      try {
        const db = tmp.file("errors.db");
        assert.equal((await cli("enqueue", "job", "--db", db)).code, 0);
        const [
          unknownCommand,
          nearMiss,
          unknownOption,
          badJson,
          missingValue,
          badPriority,
          badId,
          badDuration,
          missingArg,
          extraArg,
          invalidName,
          noSuchTask,
          noSuchFile,
          noCommand,
        ] = await Promise.all([
          cli("bogus"),
          cli("stat", "--db", db),
          cli("list", "pending", "--bogus", "--db", db),
          cli("enqueue", "job", "--payload", "{not json", "--db", db),
          cli("enqueue", "job", "--db"),
          cli("enqueue", "job", "--priority", "urgent", "--db", db),
          cli("retry", "abc", "--db", db),
          cli("prune", "--older-than", "7 days", "--db", db),
          cli("list", "--db", db),
          cli("stats", "extra", "--db", db),
          cli("enqueue", "job", "--name", "", "--db", db),
          cli("retry", "42", "--db", db),
          cli("stats", "--db", tmp.file("missing.db")),
          cli(),
        ]);
        assertUsage(unknownCommand, /^tasklite: Unknown command 'bogus'$/m);
        assertUsage(nearMiss, /Unknown command 'stat' \(did you mean 'stats'\?\)/);
        assertUsage(unknownOption, /^tasklite: Unknown option --bogus$/m, "tasklite list --help");
        assertUsage(badJson, /^tasklite: Invalid --payload: not JSON/m, "tasklite enqueue --help");
        assertUsage(missingValue, /Option --db needs a value/, "tasklite enqueue --help");
        assertUsage(badPriority, /Invalid --priority: .*"urgent"/, "tasklite enqueue --help");
        assertUsage(
          badId,
          /Invalid task id: expected a positive integer, got "abc"/,
          "tasklite retry --help",
        );
        assertUsage(badDuration, /Invalid --older-than: .*"7 days"/, "tasklite prune --help");
        assertUsage(missingArg, /^tasklite: Missing <status>$/m, "tasklite list --help");
        assertUsage(extraArg, /Unexpected argument 'extra'/, "tasklite stats --help");
        // The queue's own validation (a TypeError "Invalid …") is a usage error too.
        assertUsage(
          invalidName,
          /^tasklite: Invalid enqueue options: name must not be empty$/m,
          "tasklite enqueue --help",
        );
        assert.equal(noSuchTask.code, 1);
        assert.equal(noSuchTask.stderr, "tasklite: Cannot retry task 42: no such task\n");
        assert.equal(noSuchFile.code, 1);
        assert.match(
          noSuchFile.stderr,
          /^tasklite: No queue at .*missing\.db: the file does not exist/,
        );
        assert.equal(noCommand.code, 2);
        assert.match(noCommand.stderr, /^Usage: tasklite <command>/m);
        for (const result of [noSuchTask, noSuchFile]) assertNoStack(result.stderr);
        const queue = await TaskQueue.open(db);
        assert.equal((await queue.getQueueStats()).pending, 1, "failed commands wrote nothing");
        await queue.close();
      } finally {
        tmp.cleanup();
      }
    },
  );

  test("--help lists the commands, and each command has its own", SLOW, async () => {
    const root = await cli("--help");
    assert.equal(root.code, 0, root.stderr);
    const commands = [
      "serve",
      "stats",
      "list",
      "show",
      "enqueue",
      "retry",
      "cancel",
      "retry-failed",
      "prune",
      "schedules",
    ];
    for (const name of commands) assert.match(root.stdout, new RegExp(`^  ${name} +\\S`, "m"));
    const listHelp = await cli("list", "--help");
    assert.equal(listHelp.code, 0, listHelp.stderr);
    assert.match(listHelp.stdout, /^Usage: tasklite list <status> \[options\]/);

    for (const name of commands) {
      const viaFlag = await inProcess(name, "--help");
      assert.equal(viaFlag.code, 0, viaFlag.stderr);
      assert.match(viaFlag.stdout, new RegExp(`^Usage: tasklite ${name}\\b`), name);
      assert.match(viaFlag.stdout, /--db <file\|url>/, `${name} shows the global options`);
      assert.deepEqual(await inProcess("help", name), viaFlag, `help ${name}`);
      assert.deepEqual(await inProcess(name, "-h"), viaFlag, `${name} -h`);
    }
    assert.match((await inProcess("serve", "--help")).stdout, /--handlers <module>/);
    assert.match((await inProcess("prune", "--help")).stdout, /--older-than <duration>/);
    assert.equal((await inProcess("help")).stdout, root.stdout);
    assert.equal((await inProcess("help", "nope")).code, 2);
  });
});
