/**
 * Several machines on one PostgreSQL queue, played by 4 worker processes (tests/fixtures/
 * pg_worker.ts) on Deno, Bun and Node (whichever are installed, this runtime first) sharing one
 * schema: 10,000 tasks each run exactly once, and a worker SIGKILLed mid-run while it holds tasks
 * gives them back after their 1 s lease, to be run once more by another. Every run is recorded in
 * a `runs` table beside the queue's. Needs `TASKLITE_PG_URL`; without it, skipped visibly.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus } from "../mod.ts";
import { executable } from "../chaos/_spawn.ts";
import { fixture, RUNTIME } from "./_helpers.ts";

const URL = process.env.TASKLITE_PG_URL;
const skip = URL ? false : "engine postgres: TASKLITE_PG_URL is not set";
if (skip) console.log(`SKIP postgres_multiprocess_test: ${skip}`);

const TOTAL = 10_000;
/** How many runs the victim completes before its handlers hang (then it is killed). */
const HANG_AFTER = 300;

type Runtime = "deno" | "bun" | "node";

/** The runtimes installed here, this one first. */
function runtimes(): Runtime[] {
  const all: Runtime[] = [
    RUNTIME,
    ...(["deno", "bun", "node"] as const).filter((r) => r !== RUNTIME),
  ];
  return all.filter((r) => executable(r) !== null);
}

/** Starts the worker fixture on `runtime`; resolves with its exit and output. */
function startWorker(runtime: Runtime, args: string[]) {
  const exec = executable(runtime)!;
  const flags = runtime === "deno" ? ["run", "-A"] : [];
  const child = spawn(exec, [...flags, fixture("pg_worker.ts"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  );
  return { runtime, child, exited, output: () => output };
}

describe("postgres: several worker processes on one schema", { skip }, () => {
  test(
    `4 processes, ${TOTAL} tasks, one SIGKILLed mid-run: each task runs once, the victim's after its lease`,
    { timeout: 180_000 },
    async () => {
      const { default: postgres } = await import("postgres");
      const sql = postgres(URL!, { onnotice: () => {}, max: 2 });
      const schema = `tasklite_mp_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      const workers: ReturnType<typeof startWorker>[] = [];
      const queue = await TaskQueue.open({ postgres: URL!, schema });
      try {
        await sql.unsafe(`CREATE TABLE "${schema}".runs (task_id bigint NOT NULL,
          attempt integer NOT NULL, worker text NOT NULL, started_at bigint NOT NULL)`);
        for (let start = 0; start < TOTAL; start += 1000) {
          await queue.enqueueMany(
            Array.from({ length: 1000 }, (_, i) => ({
              name: `job ${start + i}`,
              taskType: "job",
              payload: { n: start + i },
              maxRetries: 3,
            })),
          );
        }
        const on = runtimes();
        const began = Date.now();
        for (let i = 0; i < 4; i++) {
          const runtime = on[i % on.length]!;
          workers.push(
            startWorker(runtime, [
              URL!,
              schema,
              `w${i}-${runtime}`,
              i === 1 ? `${HANG_AFTER}` : "-1",
            ]),
          );
        }
        const victim = workers[1]!;
        const victimId = `w1-${victim.runtime}`;
        // Kill it once a handler of its hangs: it then holds that task's lease, and any other
        // task it has claimed.
        const count = async () =>
          Number(
            (await sql.unsafe(`SELECT count(*)::int AS n FROM "${schema}".runs WHERE worker = $1`, [
              victimId,
            ]))[0]!.n,
          );
        while ((await count()) <= HANG_AFTER) {
          if (victim.child.exitCode !== null) assert.fail(`the victim exited: ${victim.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        process.kill(victim.child.pid!, "SIGKILL");
        const killedAt = Date.now();
        assert.equal((await victim.exited).signal, "SIGKILL");
        const held = (await queue.getTasksByStatus(TaskStatus.RUNNING, TOTAL))
          .filter((task) => task.workerId === victimId);
        assert.ok(held.length >= 1, "the victim died holding a lease");

        for (const worker of workers.filter((w) => w !== victim)) {
          const exit = await worker.exited;
          assert.equal(exit.code, 0, `${worker.runtime}: ${worker.output()}`);
        }
        const seconds = (Date.now() - began) / 1000;

        const stats = await queue.getQueueStats();
        assert.deepEqual(stats, {
          pending: 0,
          running: 0,
          completed: TOTAL,
          failed: 0,
          cancelled: 0,
        });
        const runs = await sql.unsafe<
          { task_id: string; attempt: number; worker: string; started_at: string }[]
        >(`SELECT task_id::text, attempt, worker, started_at::text FROM "${schema}".runs
            ORDER BY task_id, started_at`);
        const byTask = new Map<number, { attempt: number; worker: string; at: number }[]>();
        for (const run of runs) {
          const list = byTask.get(Number(run.task_id)) ?? [];
          list.push({ attempt: run.attempt, worker: run.worker, at: Number(run.started_at) });
          byTask.set(Number(run.task_id), list);
        }
        assert.equal(byTask.size, TOTAL, "every task ran");
        const tasks = await queue.getTasksByStatus(TaskStatus.COMPLETED, TOTAL);
        assert.equal(tasks.length, TOTAL);
        let recovered = 0;
        for (const task of tasks) {
          const list = byTask.get(task.id)!;
          const live = list.filter((run) => run.worker !== victimId);
          const dead = list.filter((run) => run.worker === victimId);
          if (task.workerId === victimId) {
            assert.deepEqual(live, [], `task ${task.id}: completed by the victim, run by no other`);
            assert.equal(dead.length, 1, `task ${task.id}: run once`);
            continue;
          }
          assert.equal(live.length, 1, `task ${task.id}: run once by the live workers`);
          assert.equal(
            live[0]!.worker,
            task.workerId,
            `task ${task.id}: by the one that completed it`,
          );
          assert.ok(dead.length <= 1, `task ${task.id}: the victim ran it at most once`);
          if (dead.length === 1) {
            recovered++;
            assert.ok(
              live[0]!.at >= killedAt && live[0]!.attempt > dead[0]!.attempt,
              `task ${task.id}: run again only after the victim died, as a later attempt`,
            );
          }
        }
        assert.ok(
          recovered >= 1,
          `the victim's started, uncompleted tasks ran again (${recovered})`,
        );
        const done = new Map(tasks.map((task) => [task.id, task]));
        for (const task of held) {
          const after = done.get(task.id)!;
          assert.notEqual(after.workerId, victimId, `task ${task.id}: completed by another worker`);
          assert.ok(after.attempts > task.attempts, `task ${task.id}: on a later attempt`);
        }
        const perWorker = workers.map((w, i) =>
          `w${i}-${w.runtime}: ${runs.filter((r) => r.worker === `w${i}-${w.runtime}`).length}`
        );
        console.log(
          `postgres multiprocess: ${TOTAL} tasks on ${on.join(", ")} in ${seconds.toFixed(1)} s ` +
            `(runs: ${perWorker.join(", ")}; the killed worker held ${held.length} leases, ` +
            `${recovered} tasks it had started ran again)`,
        );
      } finally {
        for (const worker of workers) {
          if (worker.child.exitCode === null && worker.child.signalCode === null) {
            worker.child.kill("SIGKILL");
          }
        }
        await Promise.all(workers.map((w) => w.exited));
        await queue.close();
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.end({ timeout: 5 });
      }
    },
  );
});
