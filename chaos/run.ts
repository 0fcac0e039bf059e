/**
 * tasklite's chaos suite: scenarios that kill, starve, corrupt and fuzz a queue, each recording a
 * history and counting what the guarantees say must not happen (lost, duplicated, stale
 * completions accepted, integrity failures, user-visible BUSY errors), in one table.
 *
 *   deno task chaos [options]        (deno run -A chaos/run.ts)
 *   bun chaos/run.ts [options]
 *   node22 chaos/run.ts [options]
 *
 * Options:
 *   --quick        small N and fewer rounds (about 2 minutes)
 *   --only a,b     only these scenarios (ids: kill-workers, kill-producers, contention, poison,
 *                  fuzz, disk-full, lock, corrupt, remote, million)
 *
 * Child processes run on this runtime and, where installed, on Deno and Bun too. Everything is
 * written in one temp folder, removed at the end (also on failure or Ctrl-C). The exit code is 1
 * when a counter that must be 0 is not.
 *
 * @module
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { machineLabel, runtimeLabel, sqliteVersion } from "../bench/_runtime.ts";
import { SCENARIOS } from "./_scenarios.ts";
import type { ScenarioResult } from "./_scenario.ts";
import { availableRuntimes, executable, killAll } from "./_spawn.ts";
import { zeroCounts } from "./_history.ts";
import { spawnSync } from "node:child_process";

function parseArgs(argv: readonly string[]): { quick: boolean; only?: string[] } {
  const options: { quick: boolean; only?: string[] } = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") options.quick = true;
    else if (arg === "--only") options.only = (argv[++i] ?? "").split(",");
    else throw new Error(`unknown option ${arg} (see the top of chaos/run.ts)`);
  }
  const unknown = options.only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(", ")}`);
  return options;
}

/** `<runtime> --version`, first line. */
function versionOf(runtime: "deno" | "bun" | "node"): string {
  const exec = executable(runtime);
  if (!exec) return `${runtime} (not installed)`;
  const out = spawnSync(exec, ["--version"], { encoding: "utf8" }).stdout ?? "";
  return `${runtime} ${out.split("\n")[0]!.replace(/^deno /, "").trim()}`;
}

/** A counter cell: the number, flagged when it must be 0 and is not. */
function cell(value: number, mustBeZero: boolean): string {
  return mustBeZero && value > 0 ? `${value} !` : String(value);
}

interface Row {
  title: string;
  seconds: number;
  result: ScenarioResult;
}

/** The table. */
function renderTable(rows: readonly Row[]): string {
  const header = [
    "scenario",
    "runtime(s)",
    "time",
    "operations",
    "lost",
    "duplicated",
    "stale accepted",
    "integrity",
    "BUSY seen",
    "notes",
  ];
  const lines = rows.map(({ title, seconds, result: r }) => {
    const busyZero = r.alsoZero?.includes("busy") ?? false;
    return [
      title,
      r.runtimes,
      `${seconds.toFixed(1)} s`,
      r.skipped ? "-" : r.counts.operations.toLocaleString("en-US"),
      cell(r.counts.lost, true),
      cell(r.counts.duplicated, true),
      cell(r.counts.staleAccepted, true),
      cell(r.integrity, true),
      cell(r.counts.busy, busyZero),
      (r.skipped ? [`skipped: ${r.skipped}`] : [
        ...r.violations.map((v) => `! ${v}`),
        ...r.notes,
        ...(r.counts.overlapping ? [`${r.counts.overlapping} overlapping runs of one task`] : []),
      ])
        .filter((note, i, all) => all.indexOf(note) === i).join("; "),
    ];
  });
  const all = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((l) => l[c]!.length)));
  const fmt = (l: string[]) =>
    "| " + l.map((v, c) => (c === l.length - 1 ? v : v.padEnd(widths[c]!))).join(" | ") + " |";
  return [
    fmt(header),
    "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|",
    ...lines.map(fmt),
  ]
    .join("\n");
}

/** Removes `dir`; a tmpfs a scenario left mounted in it is detached first. */
function removeAll(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    const mounts = existsSync("/proc/mounts") ? readFileSync("/proc/mounts", "utf8") : "";
    for (const line of mounts.split("\n")) {
      const point = line.split(" ")[1];
      if (point?.startsWith(dir)) spawnSync("umount", ["-l", point]);
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      console.error(`could not remove ${dir}: ${error}`);
    }
  }
}

/** Whether a row broke a guarantee. */
function failed(r: ScenarioResult): boolean {
  if (r.skipped) return false;
  const c = r.counts;
  return c.lost + c.duplicated + c.staleAccepted + r.integrity > 0 || r.violations.length > 0 ||
    (r.alsoZero ?? []).some((key) => c[key] > 0);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const runtimes = availableRuntimes(["deno", "bun"]);
  const header = [
    `date: ${new Date().toISOString()}`,
    `machine: ${machineLabel()}`,
    `runner: ${runtimeLabel()}, SQLite ${await sqliteVersion()}`,
    `runtimes: ${["deno", "bun", "node"].map((r) => versionOf(r as "deno")).join(", ")}`,
    `mode: ${options.quick ? "quick" : "full"}; child processes on ${runtimes.join(", ")}`,
  ].join("\n");
  console.log(header);
  const scratch = mkdtempSync(join(tmpdir(), "tasklite-chaos-"));
  const cleanup = () => removeAll(scratch);
  process.once("SIGINT", () => {
    void killAll().finally(() => {
      cleanup();
      process.exit(130);
    });
  });
  const rows: Row[] = [];
  try {
    for (const scenario of SCENARIOS) {
      const chosen = options.only
        ? options.only.includes(scenario.id)
        : !scenario.fullOnly || !options.quick;
      if (!chosen) continue;
      const dir = join(scratch, scenario.id);
      mkdirSync(dir, { recursive: true });
      const t0 = performance.now();
      let result: ScenarioResult;
      try {
        result = await scenario.run({ dir, quick: options.quick, runtimes });
      } catch (error) {
        result = {
          runtimes: runtimes.join("+"),
          counts: zeroCounts(),
          integrity: 0,
          notes: [],
          violations: [`the scenario crashed: ${String((error as Error)?.stack ?? error)}`],
        };
      }
      const seconds = (performance.now() - t0) / 1000;
      rows.push({ title: scenario.title, seconds, result });
      console.log(renderTable(rows.slice(-1)).split("\n").at(-1));
      removeAll(dir);
    }
  } finally {
    await killAll();
    cleanup();
  }
  console.log("");
  console.log(header);
  console.log(`total: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log("");
  console.log(renderTable(rows));
  console.log("");
  console.log("A `!` marks a counter that must be 0 and is not.");
  return rows.some((row) => failed(row.result)) ? 1 : 0;
}

process.exit(await main());
