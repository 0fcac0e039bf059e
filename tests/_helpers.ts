/** Shared test helpers: temp files, an injectable clock, and spawning the current runtime. */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { type OpenOptions, TaskQueue } from "../mod.ts";
import type { Clock } from "../src/clock.ts";

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

/** A pending fake sleep. */
interface FakeTimer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets promise chains (and in-memory SQLite calls) run: a few turns of the event loop. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock the test moves by hand. `now` is a plain field (tests may set it; that fires no
 * timer); `fn` is a bare `() => number` (a queue given it waits on real timers); `clock` is its
 * {@linkcode Clock} face, whose `sleep()` resolves only when the test moves time past it with
 * `advance(ms)` (synchronous) or `await tick(ms)` (fires timers in due order and lets the code
 * they wake run before the next one).
 */
export class FakeClock {
  now: number;
  readonly #timers: FakeTimer[] = [];
  #seq = 0;

  constructor(start = 1_700_000_000_000) {
    this.now = start;
  }

  /** The time as a bare function. */
  readonly fn = (): number => this.now;

  /** The {@linkcode Clock} face: `now()` and fake `sleep()`. */
  readonly clock: Clock = {
    now: () => this.now,
    sleep: (ms, signal) => this.sleep(ms, signal),
  };

  /** How many sleeps are pending. */
  get pending(): number {
    return this.#timers.length;
  }

  /** The due times of the pending sleeps, soonest first (relative to now). */
  get timers(): number[] {
    return this.#timers.map((timer) => timer.at - this.now);
  }

  /** A fake sleep: resolves once the test moves time `ms` on, or when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: FakeTimer = { at: this.now + Math.max(0, ms), seq: ++this.#seq, resolve };
      const abort = () => {
        const index = this.#timers.indexOf(timer);
        if (index >= 0) this.#timers.splice(index, 1);
        resolve();
      };
      timer.resolve = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      signal?.addEventListener("abort", abort, { once: true });
      let index = this.#timers.findIndex((t) => t.at > timer.at);
      if (index < 0) index = this.#timers.length;
      this.#timers.splice(index, 0, timer);
    });
  }

  /** Moves time on by `ms` and fires the sleeps that are due, in due order (synchronously). */
  advance(ms: number): number {
    this.now += ms;
    this.#fire(this.now);
    return this.now;
  }

  /**
   * Moves time on by `ms`, one due sleep at a time: each fires at its own time, and the code it
   * wakes runs (see {@linkcode settle}) before time moves on to the next.
   */
  async tick(ms: number): Promise<number> {
    const until = this.now + ms;
    await settle();
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > until) break;
      this.now = Math.max(this.now, next.at);
      this.#fire(this.now);
      await settle();
    }
    this.now = until;
    await settle();
    return this.now;
  }

  /** Waits (in real time, a few ms at most) until at least `count` sleeps are pending. */
  async sleeping(count = 1): Promise<void> {
    for (let turn = 0; this.#timers.length < count; turn++) {
      if (turn > 1000) throw new Error(`Expected ${count} pending sleeps, got ${this.pending}`);
      await settle(1);
    }
  }

  #fire(now: number): void {
    while (this.#timers.length > 0 && this.#timers[0]!.at <= now) this.#timers.shift()!.resolve();
  }
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

/**
 * An in-memory queue on a fake clock whose sleeps fire only when the test moves time
 * (`clock.tick(ms)`): its workers' poll interval, heartbeats, timeouts and stop grace included.
 */
export async function fakeTimeQueue(
  options: OpenOptions = {},
): Promise<{ queue: TaskQueue; clock: FakeClock }> {
  const clock = new FakeClock();
  const { queue } = await memoryQueue({ clock: clock.clock, ...options });
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
