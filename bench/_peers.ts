/**
 * The peers tasklite is measured against, installed from npm at bench time into a scratch folder
 * under the OS temp dir (kept between runs as a cache; the repository gains no `node_modules` or
 * lock file), loaded by absolute file URL so that `deno check` never sees them, and the reason a
 * peer cannot run on this runtime when it cannot.
 *
 * The install uses `--ignore-scripts`: `better-sqlite3` (liteque's peer dependency) is a native
 * addon that only loads in the Node whose headers built it, never in Deno or Bun, so it is not
 * built; plainjob (on Deno and Node) and liteque run on the adapter in `_sqlite_shim.ts` instead.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { RuntimeName } from "./_runtime.ts";

/** The peers, by id. */
export type PeerId =
  | "plainjob"
  | "bunqueue"
  | "liteque"
  | "bullmq"
  | "pg-boss"
  | "graphile-worker";

/** Every peer, in table order. */
export const PEER_IDS: readonly PeerId[] = [
  "plainjob",
  "bunqueue",
  "liteque",
  "bullmq",
  "pg-boss",
  "graphile-worker",
];

/** The PostgreSQL peers (measured on the server the PostgreSQL rows use). */
export const PG_PEERS: readonly PeerId[] = ["pg-boss", "graphile-worker"];

/** The pinned versions installed (ioredis is BullMQ's Redis driver, an optional peer of it). */
export const PEER_VERSIONS: Readonly<Record<PeerId | "ioredis", string>> = {
  plainjob: "0.0.14",
  bunqueue: "2.9.5",
  liteque: "0.8.0",
  bullmq: "6.7.0",
  ioredis: "5.11.1",
  "pg-boss": "12.38.0",
  "graphile-worker": "0.18.0",
};

/** The scratch folder the peers are installed into (`TASKLITE_BENCH_PEERS` overrides it). */
export const PEER_DIR = process.env.TASKLITE_BENCH_PEERS ?? join(tmpdir(), "tasklite-bench-peers");

/** Where BullMQ's Redis must answer. */
export const REDIS = { host: "127.0.0.1", port: 6379 } as const;

/** The installed version of `name` in `dir`, if any. */
function installedVersion(dir: string, name: string): string | undefined {
  try {
    const file = join(dir, "node_modules", name, "package.json");
    return JSON.parse(readFileSync(file, "utf8")).version;
  } catch {
    return undefined;
  }
}

/** What {@linkcode ensurePeers} did. */
export interface InstallResult {
  /** Whether every pinned version is present now. */
  ok: boolean;
  /** Whether it ran `npm install` (false: the cache had everything). */
  installed: boolean;
  /** Elapsed ms. */
  ms: number;
  /** Why it failed. */
  error?: string;
}

/** Installs the pinned peers into `dir` unless they are all there already. */
export async function ensurePeers(dir = PEER_DIR): Promise<InstallResult> {
  const start = performance.now();
  const wanted = Object.entries(PEER_VERSIONS);
  const missing = wanted.filter(([name, version]) => installedVersion(dir, name) !== version);
  if (missing.length === 0) return { ok: true, installed: false, ms: performance.now() - start };
  const args = [
    "install",
    "--prefix",
    dir,
    "--no-audit",
    "--no-fund",
    "--ignore-scripts",
    "--loglevel=error",
    ...wanted.map(([name, version]) => `${name}@${version}`),
  ];
  const { code, output } = await new Promise<{ code: number | null; output: string }>(
    (resolve) => {
      let output = "";
      const child = spawn("npm", args, { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      child.on("error", (error) => resolve({ code: -1, output: String(error) }));
      child.on("close", (code) => resolve({ code, output }));
    },
  );
  const ms = performance.now() - start;
  const still = wanted.filter(([name, version]) => installedVersion(dir, name) !== version);
  if (code === 0 && still.length === 0) return { ok: true, installed: true, ms };
  const error = `npm install exited ${code}: ${output.trim().split("\n").slice(-3).join(" / ")}`;
  return { ok: false, installed: true, ms, error };
}

/** Imports `specifier` as resolved from the scratch folder (by absolute file URL). */
export async function importPeer<T = Record<string, unknown>>(
  specifier: string,
  dir = PEER_DIR,
): Promise<T> {
  const require = createRequire(join(dir, "package.json"));
  return await import(pathToFileURL(require.resolve(specifier)).href) as T;
}

/** Imports a file of `pkg` (ESM builds that its `require` entry would not give). */
export async function importPeerFile<T = Record<string, unknown>>(
  pkg: string,
  file: string,
  from?: string,
  dir = PEER_DIR,
): Promise<T> {
  const nested = from ? join(dir, "node_modules", from, "node_modules", pkg) : "";
  const root = nested && existsSync(nested) ? nested : join(dir, "node_modules", pkg);
  return await import(pathToFileURL(join(root, file)).href) as T;
}

/** Whether Redis answers PING at {@linkcode REDIS} within `timeoutMs`. */
export function redisAnswers(timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(REDIS.port, REDIS.host);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(String(data).startsWith("+PONG")));
    socket.on("error", () => done(false));
  });
}

/** What decides whether a peer can run. */
export interface PeerContext {
  /** The runtime. */
  runtime: RuntimeName;
  /** The install's outcome. */
  install: InstallResult;
  /** Whether Redis answered. */
  redis: boolean;
  /** Why the PostgreSQL rows cannot run, or `null` when they can. */
  pg: string | null;
}

/** Why `peer` cannot run here, or `null` when it can. */
export function peerUnavailable(peer: PeerId, context: PeerContext): string | null {
  if (!context.install.ok) return "install failed";
  if (peer === "bunqueue" && context.runtime !== "bun") {
    return "embedded mode is Bun-only";
  }
  if (peer === "bullmq" && !context.redis) return `no Redis at ${REDIS.host}:${REDIS.port}`;
  if (PG_PEERS.includes(peer) && context.pg) return context.pg;
  return null;
}

/** How each peer runs on `runtime`, for the notes under the table. */
export function peerNotes(runtime: RuntimeName): string[] {
  const sqlite = runtime === "bun" ? "bun:sqlite" : "node:sqlite";
  return [
    runtime === "bun"
      ? "plainjob: its own bun:sqlite connection (strict mode); 8 workers in one process"
      : `plainjob: its better-sqlite3 connection over ${sqlite} (adapter, bench/_sqlite_shim.ts; ` +
        "the native addon does not load here); 8 workers in one process",
    `liteque: drizzle's better-sqlite3 driver over ${sqlite} (adapter with better-sqlite3 11's ` +
    "transactions, which liteque's lockfile pins; 12 rejects its async transaction); " +
    "its Runner with concurrency 8; no bulk add; at most 10,000 jobs (its claim sorts every " +
    "pending row, so its rate falls as N grows)",
    "bunqueue: embedded mode on a SQLite file; writes go through its write-behind buffer",
    `BullMQ: Redis at ${REDIS.host}:${REDIS.port} over ioredis; a Worker with concurrency 8; ` +
    "its RSS is the client's (the Redis server's memory is not counted)",
    "pg-boss: its own schema; send / insert; work() with batchSize 8 and burstWhenBatchFull in " +
    "one process; latency with useListenNotify and a notify queue",
    "graphile-worker: its own schema; addJob / addJobs; runOnce (processing) and run (latency, " +
    "its LISTEN/NOTIFY) with concurrency 8",
  ];
}
