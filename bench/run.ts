/**
 * tasklite's benchmark: raw SQLite baselines, tasklite and its peers (plainjob, bunqueue,
 * liteque, BullMQ) on the same workloads in one run, and tasklite on PostgreSQL beside pg-boss
 * and graphile-worker on the same server (`TASKLITE_PG_URL`, else 127.0.0.1:5432 database
 * `test`; n/a without one), each on a schema of its own, dropped after, each measurement in its own child process on
 * a fresh file, subjects alternated round by round, and one table of medians at the end.
 *
 *   deno task bench [options]        (deno run -A bench/run.ts)
 *   bun bench/run.ts [options]
 *   node bench/run.ts [options]      (Node 22: types are stripped natively)
 *
 * Options:
 *   --quick            small N, fewer rounds (PostgreSQL workloads: 1), no full-only workloads,
 *                      and the slow peers (bunqueue, liteque, BullMQ) only in process and enqueue
 *   --rounds N         rounds per subject (default: full 3; quick 2, slow peers 1)
 *   --only a,b         only these workloads (ids: process, enqueue, enqueue-1000, enqueue-many,
 *                      manual, manual-batch, latency, latency-cross, responsiveness,
 *                      pg-enqueue, pg-enqueue-1000, pg-process, pg-latency, and the
 *                      full-only scale, rss, sync-full)
 *   --scale            also run the full-only workloads (scale, rss, sync-full) in --quick
 *   --no-scale         skip them in full mode
 *   --scale-rows N     finished rows in the scale file (default 5,000,000)
 *   --n N              jobs (or samples) per measurement, overriding every workload's
 *   --json FILE        also write the results as JSON
 *
 * Peers are installed from npm into a scratch folder under the OS temp dir (bench/_peers.ts),
 * cached between runs. Timings on a shared machine are noisy: compare rows of one run.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  ensurePeers,
  type InstallResult,
  PEER_DIR,
  PEER_VERSIONS,
  peerNotes,
  peerUnavailable,
  redisAnswers,
} from "./_peers.ts";
import { findPostgres, type PgTarget } from "./_pg.ts";
import { type Header, renderHeader, renderTable, type Row, writeJson } from "./_report.ts";
import {
  BINDING,
  childCommand,
  machineLabel,
  RUNTIME,
  runtimeLabel,
  sqliteVersion,
} from "./_runtime.ts";
import { type ChildReport, REPORT_MARKER } from "./_stats.ts";
import { type Subject, subjectGap, type Workload, WORKLOADS } from "./_workloads.ts";

/** Parsed command line. */
interface Options {
  quick: boolean;
  rounds?: number;
  only?: string[];
  scale?: boolean;
  scaleRows: number;
  n?: number;
  json?: string;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { quick: false, scaleRows: 5_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--rounds") options.rounds = Number(value());
    else if (arg === "--only") options.only = value().split(",");
    else if (arg === "--scale") options.scale = true;
    else if (arg === "--no-scale") options.scale = false;
    else if (arg === "--scale-rows") options.scaleRows = Number(value());
    else if (arg === "--n") options.n = Number(value());
    else if (arg === "--json") options.json = value();
    else throw new Error(`unknown option ${arg} (see the top of bench/run.ts)`);
  }
  const unknown = options.only?.filter((id) => !WORKLOADS.some((w) => w.id === id)) ?? [];
  if (unknown.length) throw new Error(`unknown workload ${unknown.join(", ")}`);
  return options;
}

const CHILD = fileURLToPath(new URL("./_child.ts", import.meta.url));

/** Runs one child and returns its report (or the error it printed). */
function runChild(args: string[], timeoutMs: number): Promise<ChildReport | { error: string }> {
  const [cmd, argv] = childCommand(CHILD, args);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith(REPORT_MARKER));
      if (line) return resolve(JSON.parse(line.slice(REPORT_MARKER.length)));
      const why = signal === "SIGKILL" ? `timed out after ${timeoutMs / 1000} s` : `exit ${code}`;
      resolve({ error: `${why}: ${(err || out).trim().split("\n").slice(-3).join(" / ")}` });
    });
  });
}

/** The first line of an error, for the table. */
function short(error: string): string {
  return `error: ${error.split("\n")[0]!.slice(0, 80)}`;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const mode = options.quick ? "quick" : "full";
  const workloads = WORKLOADS.filter((w) =>
    (options.only ? options.only.includes(w.id) : true) &&
    (!w.fullOnly || (options.only?.includes(w.id) ?? (options.scale ?? !options.quick)))
  );
  const roundsOf = (slow: boolean) => options.rounds ?? (options.quick ? (slow ? 1 : 2) : 3);
  const notes: string[] = [];

  const needsPeers = workloads.some((w) => w.subjects.some((s) => s.peer));
  let install: InstallResult = { ok: true, installed: false, ms: 0 };
  if (needsPeers) {
    console.log(`peers: ${PEER_DIR} ...`);
    install = await ensurePeers();
    const what = install.installed ? "installed" : "cached";
    notes.push(
      `peers ${what} in ${(install.ms / 1000).toFixed(1)} s (${PEER_DIR})` +
        (install.installed ? ", outside the timed workloads" : ""),
    );
    if (!install.ok) notes.push(`peer install failed: ${install.error}`);
  }
  const redis = needsPeers && await redisAnswers();
  const needsPg = workloads.some((w) => w.subjects.some((s) => s.postgres));
  const pg: PgTarget = needsPg ? await findPostgres() : { reason: "not measured" };
  const context = { runtime: RUNTIME, install, redis, pg: pg.reason ?? null };

  const header: Header = {
    machine: machineLabel(),
    runtime: runtimeLabel(),
    sqlite: `${await sqliteVersion()} (${BINDING})`,
    date: new Date().toISOString(),
    mode: `${mode} mode, ${roundsOf(false)} rounds` +
      (options.rounds === undefined && options.quick ? " (bunqueue, liteque, BullMQ: 1)" : ""),
    peers: Object.entries(PEER_VERSIONS).map(([name, v]) => `${name} ${v}`).join(", "),
    ...(needsPg ? { postgres: pg.url ? `${pg.version} at ${pgHost(pg.url)}` : pg.reason! } : {}),
  };
  console.log(renderHeader(header));

  const scratch = mkdtempSync(join(tmpdir(), "tasklite-bench-"));
  const cleanup = () => rmSync(scratch, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  const rows: Row[] = [];
  try {
    for (const workload of workloads) {
      const n = options.n ?? workload.n[mode];
      const scaleFile = workload.id === "scale"
        ? await buildScale(scratch, options.scaleRows, notes)
        : undefined;
      const group = measureRows(workload, n, options.scaleRows);
      rows.push(...group.values());
      const active = workload.subjects.filter((s) => {
        const missing = s.peer ? peerUnavailable(s.peer, context) : s.postgres ? context.pg : null;
        const gap = subjectGap(workload, s) ??
          (options.quick && isSlow(s.peer) && !QUICK_PEER_WORKLOADS.includes(workload.id)
            ? "full mode only"
            : null);
        const row = [...group.values()].filter((r) => r.subject === s.id);
        for (const r of missing || gap ? row : []) {
          r.missing = `n/a (${gap ?? missing})`;
          r.label = s.label;
        }
        return !missing && !gap;
      });
      const rounds = (s: Subject) =>
        options.rounds ?? (options.quick ? workload.quickRounds : undefined) ?? workload.rounds ??
          roundsOf(isSlow(s.peer));
      const maxRounds = Math.max(...active.map(rounds));
      for (let round = 0; round < maxRounds; round++) {
        const line: string[] = [];
        for (const subject of active) {
          if (round >= rounds(subject)) continue;
          const dir = mkdtempSync(join(scratch, "m-"));
          const path = subject.id === "5m" ? scaleFile! : join(dir, "bench.db");
          const size = Math.min(n, subject.maxN ?? n);
          const request = { workload: workload.id, subject: subject.id, n: size, path };
          const result = await runChild(
            ["measure", JSON.stringify(request)],
            timeoutFor(size, mode),
          );
          rmSync(dir, { recursive: true, force: true });
          const targets = [...group.values()].filter((r) => r.subject === subject.id);
          if ("error" in result) {
            targets.forEach((r) => (r.missing ??= short(result.error)));
            line.push(`${subject.id} ERROR`);
            console.error(`  ${workload.id}/${subject.id}: ${result.error}`);
            continue;
          }
          for (const row of targets) {
            const measure = result.measures[row.measure];
            if (measure) row.rounds.push(measure);
            row.peakRssMb = Math.max(row.peakRssMb ?? 0, result.peakRssMb);
            if (result.note) row.note = result.note;
          }
          const first = result.measures[targets[0]!.measure];
          line.push(`${subject.id} ${summary(first)}`);
        }
        console.log(`  ${workload.id} r${round + 1}: ${line.join(", ")}`);
      }
      if (scaleFile) rmSync(scaleFile, { force: true });
    }
  } finally {
    cleanup();
  }

  notes.push(
    ...peerNotes(RUNTIME).filter((note) =>
      rows.some((r) => r.peer && !r.missing && note.toLowerCase().startsWith(r.peer))
    ),
  );
  notes.push(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log("");
  console.log(renderHeader(header));
  console.log("");
  console.log(renderTable(rows));
  console.log("");
  for (const note of notes) console.log(`- ${note}`);
  if (options.json) writeJson(options.json, header, rows, notes);
}

/** The host, port and database of a PostgreSQL URL (no user or password). */
function pgHost(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

/** The workloads the slow peers run in --quick (all of them in full mode). */
const QUICK_PEER_WORKLOADS = ["process", "enqueue"];

/** The peers that take long enough to get one round in --quick. */
function isSlow(peer: string | undefined): boolean {
  return peer === "bunqueue" || peer === "liteque" || peer === "bullmq";
}

/** A child's time limit: generous, scaled with N. */
function timeoutFor(n: number, mode: string): number {
  return Math.max(mode === "quick" ? 60_000 : 120_000, n * 5);
}

/** One row per (measure, subject) of `workload`, keyed `measure/subject`. */
function measureRows(workload: Workload, n: number, scaleRows: number): Map<string, Row> {
  const measures = workload.measures ?? [{ id: workload.id, title: workload.title }];
  const rows = new Map<string, Row>();
  for (const m of measures) {
    for (const s of workload.subjects) {
      rows.set(`${m.id}/${s.id}`, {
        measure: m.id,
        title: m.title === workload.title ? `${m.title} (N=${n.toLocaleString("en-US")})` : m.title,
        subject: s.id,
        label: s.id === "5m"
          ? `tasklite, ${scaleRows.toLocaleString("en-US")} finished rows`
          : s.maxN && s.maxN < n
          ? `${s.label} (N=${s.maxN.toLocaleString("en-US")})`
          : s.label,
        ...(s.peer ? { peer: s.peer } : {}),
        baseline: s.id === workload.baseline,
        ...(workload.ref ? { ref: workload.ref } : {}),
        rounds: [],
        n: Math.min(n, s.maxN ?? n),
      });
    }
  }
  return rows;
}

/** A measure in a few characters, for the progress lines. */
function summary(m: ChildReport["measures"][string] | undefined): string {
  if (!m) return "?";
  if (m.jobsPerSec !== undefined) return `${Math.round(m.jobsPerSec).toLocaleString("en-US")}/s`;
  if (m.p50Ms !== undefined) return `p50 ${m.p50Ms.toFixed(2)} ms`;
  return `${m.ms?.toFixed(1)} ms`;
}

/** Builds the scale workload's file in a child; returns its path. */
async function buildScale(scratch: string, rows: number, notes: string[]): Promise<string> {
  const path = join(scratch, "scale.db");
  console.log(`  scale: inserting ${rows.toLocaleString("en-US")} finished rows ...`);
  const result = await runChild(["scale-build", path, String(rows)], 30 * 60_000);
  if ("error" in result) throw new Error(`scale file: ${result.error}`);
  const ms = result.measures["scale-build"]?.ms ?? NaN;
  notes.push(
    `scale file: ${rows.toLocaleString("en-US")} completed rows inserted with raw SQL in ` +
      `${(ms / 1000).toFixed(0)} s, columns from PRAGMA table_info(tasks): ${result.note}`,
  );
  return path;
}

await main();
