/**
 * The benchmark's PostgreSQL side: which server (`TASKLITE_PG_URL`, else a local one at
 * 127.0.0.1:5432 with trust auth and database `test`), a schema of its own per measurement
 * (dropped after), and the worker processes of the multi-process and cross-process workloads.
 * tasklite, pg-boss and graphile-worker run on the same server in the same run.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { connect } from "node:net";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { childCommand } from "./_runtime.ts";

/** The URL tried when `TASKLITE_PG_URL` is not set. */
export const LOCAL_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

/** The server the PostgreSQL rows run on, or why they cannot. */
export type PgTarget =
  | { url: string; version: string; reason?: undefined }
  | { url?: undefined; version?: undefined; reason: string };

/** Whether something accepts TCP connections at `host:port` within `timeoutMs`. */
function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("connect", () => done(true));
    socket.on("error", () => done(false));
  });
}

/**
 * The PostgreSQL server to measure on: `TASKLITE_PG_URL` if it answers a query, else the local
 * server; `reason` says why there is none. Sets `TASKLITE_PG_URL` for the children.
 */
export async function findPostgres(): Promise<PgTarget> {
  const given = process.env.TASKLITE_PG_URL;
  const url = given ?? LOCAL_PG_URL;
  if (!given && !(await answers("127.0.0.1", 5432))) {
    return { reason: "no PostgreSQL: TASKLITE_PG_URL unset, nothing at 127.0.0.1:5432" };
  }
  try {
    const version = await serverVersion(url);
    process.env.TASKLITE_PG_URL = url;
    return { url, version };
  } catch (error) {
    return { reason: `PostgreSQL at ${redact(url)} refused: ${String(error).slice(0, 60)}` };
  }
}

/** `url` without its password. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** The server's `server_version`. */
export async function serverVersion(url: string): Promise<string> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql`SHOW server_version`;
    return String(row!.server_version);
  } finally {
    await sql.end();
  }
}

/** The URL the children measure on (set by {@linkcode findPostgres} in the parent). */
export function pgUrl(): string {
  const url = process.env.TASKLITE_PG_URL;
  if (!url) throw new Error("TASKLITE_PG_URL is not set in the bench child");
  return url;
}

/** A fresh schema name for one measurement. */
export function freshSchema(subject: string): string {
  const tag = subject.replace(/[^a-z0-9]/gi, "_").toLowerCase();
  return `bench_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Drops `schema` (and all in it). */
export async function dropSchema(schema: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(pgUrl(), { max: 1, onnotice: () => {} });
  try {
    await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
  } finally {
    await sql.end();
  }
}

/** What a PostgreSQL worker child is asked to do. */
export interface PgWorkerRequest {
  /** `tasklite`, `pg-boss` or `graphile-worker`. */
  system: string;
  /** The schema of this measurement. */
  schema: string;
  /** `process`: drain on "go", print "done"; `latency`: print `latency <ms>` per task. */
  mode: "process" | "latency";
  /** The tasks to expect (pg-boss's process mode stops at this count). */
  n: number;
}

const CHILD = fileURLToPath(new URL("./_child.ts", import.meta.url));

/** A running worker child. */
export interface PgWorkerChild {
  /** Resolves at its "ready" line. */
  ready: Promise<void>;
  /** Resolves when it exits (rejects on a non-zero exit). */
  exited: Promise<void>;
  /** Each `latency <ms>` it printed. */
  latencies: number[];
  /** Writes a line to its stdin. */
  send(line: string): void;
}

/** Starts a worker child for `request`. */
export function startPgWorker(request: PgWorkerRequest): PgWorkerChild {
  const [cmd, args] = childCommand(CHILD, ["pg-worker", JSON.stringify(request)]);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  const latencies: number[] = [];
  let err = "";
  child.stderr!.on("data", (chunk) => (err += chunk));
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line === "ready") ready();
    else if (line.startsWith("latency ")) latencies.push(Number(line.slice(8)));
  });
  const exited = new Promise<void>((resolve, reject) =>
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(
        new Error(`${request.system} worker exited ${code}: ${err.trim().split("\n").slice(-2)}`),
      ))
  );
  return {
    ready: Promise.race([isReady, exited.then(() => Promise.reject(new Error("worker exited")))]),
    exited,
    latencies,
    send: (line) => child.stdin!.write(`${line}\n`),
  };
}

/** Resolves at the next line on stdin (or its end). */
export function nextStdinLine(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once("data", () => resolve());
    process.stdin.once("end", () => resolve());
  });
}
