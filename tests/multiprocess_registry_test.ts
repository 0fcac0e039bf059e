/**
 * The worker registry across processes: a worker process killed mid-task (SIGKILL) stops beating,
 * and another process recovers its lease once it is dead (silent for 10 s: WORKER_DEAD_MIN_MS),
 * long before the lease of 60 s would have run out.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { TaskQueue, TaskStatus, Worker } from "../mod.ts";
import { fixture, scriptCommand, tempDir } from "./_helpers.ts";

describe("a killed worker process, seen by the registry", () => {
  test("SIGKILL mid-task: its lease of 60 s is recovered once the registry says it is dead", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("registry.db");
      let queue = await TaskQueue.open(path);
      const id = await queue.enqueue({ name: "survivor", taskType: "job" });
      await queue.close();
      // sleeper_worker.ts polls (and beats) every 10 ms; its handler never returns.
      const [command, argv] = scriptCommand(fixture("sleeper_worker.ts"), [path, "60000", "no"]);
      const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      await new Promise<void>((resolve, reject) => {
        let stdout = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk;
          if (stdout.includes(`started ${id}`)) resolve();
        });
        child.on("exit", () => reject(new Error(`the sleeper exited early: ${stderr}`)));
      });
      queue = await TaskQueue.open(path);
      const [registered] = await queue.workers();
      assert.equal(registered?.id, `sleeper-${child.pid}`);
      assert.equal(registered?.alive, true);
      assert.equal(registered?.beatIntervalMs, 1000, "it polls every 10 ms, beats every second");
      child.kill("SIGKILL");
      await exited;

      const killedAt = Date.now();
      const held = (await queue.getTask(id))!;
      assert.equal(held.status, TaskStatus.RUNNING);
      const rescuer = new Worker(queue, { handlers: { job: () => "rescued" } });
      let ran = 0;
      while (ran === 0) {
        assert.ok(Date.now() - killedAt < 20_000, "recovered within 20 s, not after 60 s");
        ran = await rescuer.tick(); // its maintain() ends the dead worker's lease
        if (ran === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const recoveredIn = Date.now() - killedAt;
      assert.ok(recoveredIn < held.leaseExpiresAt! - killedAt, "before the lease ran out");
      console.log(`recovered ${recoveredIn} ms after the kill (lease: 60000 ms)`);
      const task = (await queue.getTask(id))!;
      assert.equal(task.status, TaskStatus.COMPLETED);
      assert.equal(task.result, "rescued");
      assert.equal(task.retryCount, 1, "the killed attempt counts");
      assert.equal(task.attempts, 2);
      assert.deepEqual((await queue.workers()).map((w) => [w.id, w.alive]), [
        [`sleeper-${child.pid}`, false],
      ]);
      await queue.close();
    } finally {
      tmp.cleanup();
    }
  });
});
