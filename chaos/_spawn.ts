/**
 * Child processes of the chaos suite: chaos/_child.ts on Deno, Bun or Node (whichever of them is
 * installed), started, waited for, and killed by pid.
 *
 * @module
 */

import { createServer } from "node:net";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { RUNTIME, type RuntimeName } from "../bench/_runtime.ts";

/** The child script. */
export const CHILD = fileURLToPath(new URL("./_child.ts", import.meta.url));

/**
 * The executable of `runtime`: this process's own, or the first on PATH; null when absent. A Node
 * older than 22.18 cannot run the `.ts` children (no type stripping by default), so it counts as
 * absent (a machine's system Node may be older than the suite's Node 22).
 */
export function executable(runtime: RuntimeName): string | null {
  if (runtime === RUNTIME) return process.execPath;
  const names = runtime === "node" ? ["node22", "node"] : [runtime];
  for (const name of names) {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate) && (runtime !== "node" || stripsTypes(candidate))) {
        return candidate;
      }
    }
  }
  return null;
}

/** Whether the Node at `path` runs TypeScript files as they are (22.18 or newer). */
function stripsTypes(path: string): boolean {
  const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout ?? "";
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

/** The runtimes whose child processes a scenario can start (this one first). */
export function availableRuntimes(wanted: readonly RuntimeName[]): RuntimeName[] {
  const list = [RUNTIME, ...wanted.filter((r) => r !== RUNTIME)];
  return list.filter((r) => (r === RUNTIME || wanted.includes(r)) && executable(r) !== null);
}

/** A running child. */
export interface Child {
  /** Its runtime. */
  runtime: RuntimeName;
  /** The process. */
  process: ChildProcess;
  /** Resolves with the exit code (or signal) once it exits. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** The last 4 KB of its stdout and stderr. */
  output: () => string;
  /** Whether it is still running. */
  alive: () => boolean;
  /** SIGKILLs it (by its pid). */
  kill: () => void;
}

/** Every child still running. */
const LIVE = new Set<Child>();

/** SIGKILLs every child still running (a scenario that threw may leave some) and waits. */
export async function killAll(): Promise<void> {
  const list = [...LIVE];
  for (const child of list) child.kill();
  await Promise.all(list.map((child) => child.exited));
}

/** Starts chaos/_child.ts `mode` with `args` on `runtime`. */
export function startChild(runtime: RuntimeName, mode: string, args: readonly string[]): Child {
  const exec = executable(runtime);
  if (!exec) throw new Error(`Cannot start a ${runtime} child: ${runtime} is not installed`);
  const flags = runtime === "deno"
    ? ["run", "-A"]
    : runtime === "node"
    ? ["--disable-warning=ExperimentalWarning"]
    : [];
  const child = spawn(exec, [...flags, CHILD, mode, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  const keep = (chunk: unknown) => (output = (output + String(chunk)).slice(-4096));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on("close", (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    child.on("error", (error) => {
      running = false;
      keep(error.message);
      resolve({ code: -1, signal: null });
    });
  });
  const handle: Child = {
    runtime,
    process: child,
    exited,
    output: () => output,
    alive: () => running,
    kill: () => {
      if (running) child.kill("SIGKILL");
    },
  };
  LIVE.add(handle);
  exited.then(() => LIVE.delete(handle));
  return handle;
}

/** The line of a child's output that names its error (or its last line). */
export function errorLine(child: Child): string {
  const lines = child.output().trim().split("\n");
  return (lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? "").trim().slice(0, 160);
}

/** Waits for `child` to exit; SIGKILLs it after `timeoutMs`. True when it exited by itself. */
export async function waitChild(child: Child, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const done = await Promise.race([child.exited.then(() => true), timedOut]);
  clearTimeout(timer);
  if (!done) {
    child.kill();
    await child.exited;
  }
  return done;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A random integer in [min, max). */
export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min));
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
