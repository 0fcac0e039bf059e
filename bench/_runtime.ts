/**
 * What the benchmark needs of the runtime it runs on: its name and version, the command that
 * starts a child on the same runtime, the runtime's built-in SQLite (`bun:sqlite` on Bun,
 * `node:sqlite` on Deno and Node) behind one small interface, peak RSS, and the machine.
 *
 * @module
 */

import { cpus } from "node:os";
import process from "node:process";

/** The runtime running this file. */
export type RuntimeName = "bun" | "deno" | "node";

/** Which runtime runs this file. */
export const RUNTIME: RuntimeName = "Bun" in globalThis
  ? "bun"
  : "Deno" in globalThis
  ? "deno"
  : "node";

/** The runtime and its version, such as `bun 1.4.5`. */
export function runtimeLabel(): string {
  const versions = process.versions as Record<string, string | undefined>;
  return `${RUNTIME} ${versions[RUNTIME] ?? process.version}`;
}

/** The command line that runs `script` with `args` on this same runtime. */
export function childCommand(script: string, args: readonly string[]): [string, string[]] {
  const flags = RUNTIME === "deno"
    // manual: peers in the scratch folder resolve their own bare imports, as under Node
    ? ["run", "-A", "--node-modules-dir=manual"]
    : RUNTIME === "node"
    ? ["--disable-warning=ExperimentalWarning"]
    : [];
  return [process.execPath, [...flags, script, ...args]];
}

/** A bound value. */
export type Value = string | number | bigint | null | Uint8Array;

/** The statement subset of both built-in bindings. */
export interface Stmt {
  /** Runs it. */
  run(...params: Value[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  /** The first row, if any. */
  get(...params: Value[]): Record<string, unknown> | undefined | null;
  /** Every row. */
  all(...params: Value[]): Record<string, unknown>[];
}

/** The connection subset of both built-in bindings. */
export interface Db {
  /** Runs statements without parameters. */
  exec(sql: string): void;
  /** Prepares a statement. */
  prepare(sql: string): Stmt;
  /** Closes the connection. */
  close(): void;
}

/** The runtime's own binding: `bun:sqlite` on Bun, `node:sqlite` elsewhere. */
export const BINDING = RUNTIME === "bun" ? "bun:sqlite" : "node:sqlite";

/** The constructor of the runtime's built-in SQLite binding, typed loosely. */
export async function sqliteConstructor(): Promise<new (path: string) => unknown> {
  const specifier = BINDING; // a variable, so that `deno check` does not resolve `bun:`
  const module = await import(specifier);
  return (RUNTIME === "bun" ? module.Database : module.DatabaseSync) as new (
    path: string,
  ) => unknown;
}

/** Opens `path` with the runtime's built-in SQLite. */
export async function openDb(path: string): Promise<Db> {
  const Ctor = await sqliteConstructor();
  return new Ctor(path) as Db;
}

/** Sets the connection PRAGMAs of tasklite's defaults (src/drivers/_file.ts). */
export function configureLikeTasklite(db: Db, synchronous = "NORMAL"): void {
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
}

/** `select sqlite_version()` on the runtime's built-in SQLite. */
export async function sqliteVersion(): Promise<string> {
  const db = await openDb(":memory:");
  try {
    return String(db.prepare("select sqlite_version() as v").get()?.v);
  } finally {
    db.close();
  }
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  const usage = process.resourceUsage?.();
  const kb = usage?.maxRSS ?? process.memoryUsage().rss / 1024;
  return kb / 1024;
}

/** The machine: cores and CPU model. */
export function machineLabel(): string {
  const list = cpus();
  return `${list.length} cores, ${list[0]?.model?.trim() ?? "unknown CPU"}`;
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
