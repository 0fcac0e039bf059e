/** Shared test helpers: temp files, an injectable clock, and spawning the current runtime. */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OpenOptions, TaskQueue } from "../mod.ts";

/** Which runtime runs the suite. */
export const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** A temp dir, removed by the returned cleanup. */
export function tempDir(): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tasklite-test-"));
  return {
    dir,
    file: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A clock the test moves by hand. */
export class FakeClock {
  now: number;
  constructor(start = 1_700_000_000_000) {
    this.now = start;
  }
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
  readonly fn = (): number => this.now;
}

/** An in-memory queue with a fake clock and no backoff jitter. */
export async function memoryQueue(
  options: OpenOptions = {},
): Promise<{ queue: TaskQueue; clock: FakeClock }> {
  const clock = new FakeClock();
  const queue = await TaskQueue.open(":memory:", {
    clock: clock.fn,
    backoff: { baseMs: 1000, factor: 2, jitter: 0 },
    ...options,
  });
  return { queue, clock };
}

/** The command that runs a script with the current runtime. */
export function scriptCommand(script: string, args: string[]): [string, string[]] {
  const exec = process.execPath;
  return RUNTIME === "deno" ? [exec, ["run", "-A", script, ...args]] : [exec, [script, ...args]];
}

/** Runs a script with the current runtime; resolves with its exit code and output. */
export function runScript(
  script: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = scriptCommand(script, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Path of a fixture script. */
export function fixture(name: string): string {
  return join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "fixtures", name);
}
