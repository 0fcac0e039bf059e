/**
 * The results: the median of each subject's rounds, and the one table printed at the end (jobs/s,
 * ratio to the workload's baseline and to each peer, latency or lag percentiles, peak RSS), plus
 * the same as JSON for `--json`.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { PEER_IDS, type PeerId } from "./_peers.ts";
import { type Measure, median } from "./_stats.ts";

/** One row: one measure of one subject. */
export interface Row {
  /** The measure id (the workload id, or a sub-measure such as `scale-stats`). */
  measure: string;
  /** The measure's title. */
  title: string;
  /** The subject id. */
  subject: string;
  /** The subject's label. */
  label: string;
  /** The peer it is, if any. */
  peer?: PeerId;
  /** Whether this row is its workload's baseline. */
  baseline: boolean;
  /** The baseline's short name, for the ratio cells. */
  ref?: string;
  /** `n/a (reason)` or an error, instead of figures. */
  missing?: string;
  /** Each round's measure. */
  rounds: Measure[];
  /** Peak RSS over the rounds, MB. */
  peakRssMb?: number;
  /** How the subject ran. */
  note?: string;
  /** Jobs (or samples) per round. */
  n: number;
}

/** The header of a run. */
export interface Header {
  /** The machine (cores, CPU model). */
  machine: string;
  /** Runtime and version. */
  runtime: string;
  /** SQLite version and binding. */
  sqlite: string;
  /** ISO date. */
  date: string;
  /** quick or full, and rounds. */
  mode: string;
  /** Peer versions. */
  peers: string;
  /** The PostgreSQL server of the PostgreSQL rows, or why they are n/a. */
  postgres?: string;
}

/** The median over rounds of each field. */
export function medianMeasure(rounds: readonly Measure[]): Measure {
  const out: Measure = {};
  const keys = ["jobsPerSec", "p50Ms", "p99Ms", "maxMs", "ms", "rssFromMb", "rssToMb"] as const;
  for (const key of keys) {
    const values = rounds.map((m) => m[key]).filter((v): v is number => typeof v === "number");
    if (values.length) out[key] = key === "maxMs" ? Math.max(...values) : median(values);
  }
  return out;
}

/** A number for the table. */
function num(value: number | undefined, digits?: number): string {
  if (value === undefined || !Number.isFinite(value)) return "";
  if (digits !== undefined) return value.toFixed(digits);
  if (value >= 1000) return Math.round(value).toLocaleString("en-US");
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

/** `a` as a multiple of `b`. */
function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return "";
  const r = a / b;
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}

/** The table's cells for every row. */
function cells(rows: readonly Row[]): string[][] {
  const out: string[][] = [];
  let lastTitle = "";
  for (const row of rows) {
    const group = rows.filter((r) => r.measure === row.measure);
    const m = medianMeasure(row.rounds);
    const base = group.find((r) => r.baseline && !r.missing);
    const baseM = base ? medianMeasure(base.rounds) : undefined;
    const timed = m.ms !== undefined; // a duration: smaller is better, the ratio is of times
    const rss = m.rssFromMb !== undefined
      ? ` (RSS ${num(m.rssFromMb, 0)} -> ${num(m.rssToMb, 0)} MB)`
      : "";
    const value = row.missing ??
      (timed ? `${num(m.ms)} ms` : m.jobsPerSec !== undefined ? num(m.jobsPerSec) + rss : "");
    const vsBase = row.missing || !base || row === base
      ? ""
      : timed
      ? `${ratio(m.ms, baseM?.ms)} time`
      : `${ratio(m.jobsPerSec, baseM?.jobsPerSec)} ${row.ref ?? base.label}`;
    // peers are compared with tasklite, not with each other or with the baseline
    const compared = !row.peer && !row.baseline && !row.missing && m.jobsPerSec !== undefined;
    const vsPeers = PEER_IDS.map((peer) => {
      const other = group.find((r) => r.peer === peer);
      if (!other || !compared) return "";
      if (other.missing) return "n/a";
      return ratio(m.jobsPerSec, medianMeasure(other.rounds).jobsPerSec);
    });
    out.push([
      row.title === lastTitle ? "" : row.title,
      row.label,
      value,
      vsBase.trim(),
      ...vsPeers,
      num(m.p50Ms),
      num(m.p99Ms),
      num(m.maxMs),
      row.missing ? "" : num(row.peakRssMb, 0),
    ]);
    lastTitle = row.title;
  }
  return out;
}

/** The table as Markdown (pipes, padded). */
export function renderTable(rows: readonly Row[]): string {
  const head = [
    "workload",
    "subject",
    "jobs/s (median)",
    "vs baseline",
    "vs plainjob",
    "vs bunqueue",
    "vs liteque",
    "vs BullMQ",
    "vs pg-boss",
    "vs graphile-worker",
    "p50 ms",
    "p99 ms",
    "max ms",
    "peak RSS MB",
  ];
  const body = cells(rows);
  // drop peer columns that are empty in every row
  const peerEnd = 3 + PEER_IDS.length;
  const keep = head.map((_, i) => i < 4 || i > peerEnd || body.some((r) => r[i] && r[i] !== "n/a"));
  const table = [head, ...body].map((r) => r.filter((_, i) => keep[i]));
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(table[0]!), rule, ...table.slice(1).map(line)].join("\n");
}

/** The header lines. */
export function renderHeader(header: Header): string {
  return [
    `tasklite bench, ${header.mode}, ${header.date}`,
    `machine: ${header.machine} | runtime: ${header.runtime} | SQLite ${header.sqlite}`,
    `peers: ${header.peers}`,
    ...(header.postgres ? [`PostgreSQL: ${header.postgres}`] : []),
  ].join("\n");
}

/** Writes the run as JSON to `file`. */
export function writeJson(
  file: string,
  header: Header,
  rows: readonly Row[],
  notes: readonly string[],
): void {
  const out = rows.map((row) => ({ ...row, median: medianMeasure(row.rounds) }));
  writeFileSync(file, `${JSON.stringify({ header, rows: out, notes }, null, 2)}\n`);
}
