import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus, Worker } from "../mod.ts";
import { fixture, runScript, RUNTIME, scriptCommand, tempDir } from "./_helpers.ts";

type Run = { id: number; start: number; end: number; key: string | null };

/** The most runs at once among `runs`. */
function peakOf(runs: readonly Run[]): number {
  const edges = runs.flatMap((r) => [[r.start, 1], [r.end, -1]] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, now += step);
  return peak;
}

/** Starts 3 contention processes, opens the barrier, and returns their JSON outputs. */
async function threeProcesses<T>(
  tmp: ReturnType<typeof tempDir>,
  path: string,
  args: string[],
): Promise<T[]> {
  const go = tmp.file("go");
  const outs = [1, 2, 3].map((i) => tmp.file(`out-${i}.json`));
  const children = outs.map((out) => runScript(fixture("contention.ts"), [path, go, out, ...args]));
  await new Promise((resolve) => setTimeout(resolve, 300));
  writeFileSync(go, "");
  for (const result of await Promise.all(children)) assert.equal(result.code, 0, result.stderr);
  return outs.map((out) => JSON.parse(readFileSync(out, "utf8")) as T);
}

describe("limits and schedules across 3 processes", () => {
  test("a rate limit holds across processes", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("rate.db");
      const queue = await TaskQueue.open(path);
      await queue.enqueueMany(
        Array.from({ length: 16 }, (_, i) => ({ name: `${i}`, taskType: "job" })),
      );
      await queue.setLimits("job", { rate: { max: 4, intervalMs: 300 } });
      const runs = (await threeProcesses<Run[]>(tmp, path, ["work", "4"])).flat();
      assert.equal(runs.length, 16);
      const starts = (await queue.getTasksByStatus(TaskStatus.COMPLETED, 100))
        .map((t) => t.startedAt!).sort((a, b) => a - b);
      for (let i = 0; i + 4 < starts.length; i++) {
        assert.ok(starts[i + 4]! - starts[i]! >= 300, `5 claims within 300 ms: ${starts}`);
      }
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a concurrency limit holds across processes", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("conc.db");
      const queue = await TaskQueue.open(path);
      await queue.enqueueMany(
        Array.from({ length: 12 }, (_, i) => ({ name: `${i}`, taskType: "job" })),
      );
      await queue.setLimits("job", { concurrency: 2 });
      const perProcess = await threeProcesses<Run[]>(tmp, path, ["work", "1"]);
      const runs = perProcess.flat();
      assert.equal(runs.length, 12);
      const edges = runs.flatMap((r) => [[r.start, 1], [r.end, -1]] as const)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let now = 0;
      let peak = 0;
      for (const [, step] of edges) peak = Math.max(peak, now += step);
      assert.ok(peak <= 2, `peak concurrency ${peak}`);
      assert.ok(perProcess.filter((r) => r.length > 0).length >= 2, "the slots were shared");
      console.log(`peak concurrency ${peak}; runs per process ${perProcess.map((r) => r.length)}`);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a per-key concurrency limit holds across processes, each key on its own", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("keys.db");
      const queue = await TaskQueue.open(path);
      await queue.enqueueMany(
        ["a", "b"].flatMap((key) =>
          Array.from({ length: 6 }, (_, i) => ({
            name: `${key}${i}`,
            taskType: "job",
            concurrencyKey: key,
          }))
        ),
      );
      await queue.setLimits("job", { concurrencyPerKey: 1 });
      const runs = (await threeProcesses<Run[]>(tmp, path, ["work", "2"])).flat();
      assert.equal(runs.length, 12);
      for (const key of ["a", "b"]) {
        const peak = peakOf(runs.filter((run) => run.key === key));
        assert.equal(peak, 1, `key ${key}: peak concurrency ${peak}`);
      }
      console.log(`peak concurrency over both keys ${peakOf(runs)}`);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("a schedule fires once per slot with 3 processes running it", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("sched.db");
      const queue = await TaskQueue.open(path);
      await queue.schedule("every-second", "* * * * * *", { taskType: "tick" });
      const ids = (await threeProcesses<number[]>(tmp, path, ["schedules", "2.5"])).flat();
      assert.ok(ids.length >= 2, `fired ${ids.length} times`);
      assert.equal(new Set(ids).size, ids.length);
      const slots = await Promise.all(
        ids.map(async (id) => (await queue.getTask(id))!.scheduledAt),
      );
      assert.equal(new Set(slots).size, slots.length, `a slot fired twice: ${slots}`);
      assert.ok(slots.every((slot) => slot % 1000 === 0), "slots are whole seconds");
      assert.equal((await queue.getQueueStats()).pending, ids.length);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe("a worker process that dies or is stopped", () => {
  /** Starts the sleeper, resolves once it printed "started <id>". */
  function startSleeper(path: string, leaseMs: number, signals: boolean) {
    const [command, argv] = scriptCommand(fixture("sleeper_worker.ts"), [
      path,
      String(leaseMs),
      signals ? "yes" : "no",
    ]);
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const started = new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /started (\d+)/.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
      child.on("exit", () => reject(new Error(`sleeper exited early: ${stderr}`)));
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal }))
    );
    return { child, started, exited, output: () => stdout };
  }

  test("SIGKILL mid-task: the task completes elsewhere after the lease, the attempt counted", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("kill.db");
      let queue = await TaskQueue.open(path);
      const id = await queue.enqueue({ name: "survivor", taskType: "job" });
      await queue.close();
      const sleeper = startSleeper(path, 30_000, false);
      assert.equal(await sleeper.started, id);
      sleeper.child.kill("SIGKILL");
      await sleeper.exited;

      let now = Date.now();
      queue = await TaskQueue.open(path, { clock: () => now });
      // At its last beat the worker still looks alive, so only its lease can run out (the
      // registry's early recovery is multiprocess_registry_test.ts).
      now = (await queue.workers())[0]!.heartbeatAt;
      const held = (await queue.getTask(id))!;
      assert.equal(held.status, TaskStatus.RUNNING);
      const rescuer = new Worker(queue, { handlers: { job: () => "rescued" } });
      assert.equal(await rescuer.tick(), 0, "the dead worker's lease still holds");
      now = held.leaseExpiresAt!;
      assert.equal(await rescuer.tick(), 1);
      const task = (await queue.getTask(id))!;
      assert.equal(task.status, TaskStatus.COMPLETED);
      assert.equal(task.result, "rescued");
      assert.equal(task.retryCount, 1);
      assert.equal(task.attempts, 2);
      assert.match(task.errors[0]!.error, /Lease expired after 30000 ms \(worker sleeper-/);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });

  test("SIGTERM: shutdownOnSignals stops the worker and gives the task back at once", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("term.db");
      let queue = await TaskQueue.open(path);
      const id = await queue.enqueue({ name: "handed back", taskType: "job" });
      await queue.close();
      const sleeper = startSleeper(path, 30_000, true);
      assert.equal(await sleeper.started, id);
      sleeper.child.kill("SIGTERM");
      const { code, signal } = await sleeper.exited;
      assert.match(sleeper.output(), /shut down/, "the handler stopped the worker and closed");
      // Deno's child_process reports the signal it sent rather than the child's exit code 0.
      if (RUNTIME === "deno") assert.ok(code === 0 || signal === "SIGTERM");
      else assert.equal(code, 0);
      queue = await TaskQueue.open(path);
      const task = (await queue.dequeue())!;
      assert.equal(task.id, id, "claimable at once, no lease to wait for");
      assert.equal(task.retryCount, 0);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });
});
