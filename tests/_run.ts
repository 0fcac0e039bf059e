/**
 * Runs the suite under Deno, Bun and Node (the `test:deno`, `test:bun` and `test:node` tasks), one
 * after the other with their output as it comes, and ends with one summary line per runtime and a
 * total. Exits non-zero when any runner failed, or when the suite left files behind: a database
 * (`*.db`, `-wal`, `-shm`) in the repository root, or a `tasklite-*` entry in the temporary
 * directory, which the runners get to themselves (`TMPDIR`, removed at the end) so that what
 * other processes put in the system's is not counted.
 *
 *   deno run -A tests/_run.ts
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** The suite's own temporary directory: its runners' TMPDIR. */
const TMP = mkdtempSync(join(tmpdir(), "tasklite-suite-"));

/** What a test may leave behind, as `name → mtime`: databases in the root, ours in TMP. */
function leftovers(): Map<string, number> {
  const found = new Map<string, number>();
  const add = (dir: string, keep: (name: string) => boolean) => {
    for (const name of readdirSync(dir)) {
      if (!keep(name)) continue;
      const path = join(dir, name);
      try {
        found.set(path, statSync(path).mtimeMs);
      } catch {
        // removed meanwhile
      }
    }
  };
  add(ROOT, (name) => /\.db(-wal|-shm|-journal)?$/.test(name));
  add(TMP, (name) => name.startsWith("tasklite-") || /\.db(-wal|-shm)?$/.test(name));
  return found;
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  steps?: number;
}

/** Reads a runner's closing counts from its output. */
const PARSERS: Record<string, (out: string) => Counts | null> = {
  // ok | 100 passed (171 steps) | 0 failed | 2 ignored (29s)
  deno: (out) => {
    const line = out.match(
      /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored)?/,
    );
    if (!line) return null;
    return {
      passed: Number(line[1]),
      steps: Number(line[2] ?? 0),
      failed: Number(line[3]),
      skipped: Number(line[5] ?? 0),
    };
  },
  //  180 pass / 2 skip / 0 fail
  bun: (out) => {
    const pass = out.match(/^\s*(\d+) pass$/m);
    const fail = out.match(/^\s*(\d+) fail$/m);
    if (!pass || !fail) return null;
    return {
      passed: Number(pass[1]),
      failed: Number(fail[1]),
      skipped: Number(out.match(/^\s*(\d+) skip$/m)?.[1] ?? 0),
    };
  },
  // # pass 178 / # fail 0 / # skipped 2
  node: (out) => {
    const pass = out.match(/^# pass (\d+)$/m);
    const fail = out.match(/^# fail (\d+)$/m);
    if (!pass || !fail) return null;
    // A test cancelled because its parent failed (a suite hook, a timeout) is a failure too.
    const cancelled = Number(out.match(/^# cancelled (\d+)$/m)?.[1] ?? 0);
    return {
      passed: Number(pass[1]),
      failed: Number(fail[1]) + cancelled,
      skipped: Number(out.match(/^# skipped (\d+)$/m)?.[1] ?? 0),
    };
  },
};

/** Colour codes, which the counts are read without. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

function run(runtime: string): Promise<{ code: number; counts: Counts | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["task", `test:${runtime}`], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: TMP, TMP, TEMP: TMP },
    });
    let out = "";
    const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
      out += chunk.toString("utf8");
      stream.write(chunk);
    };
    child.stdout.on("data", forward(process.stdout));
    child.stderr.on("data", forward(process.stderr));
    child.on("close", (code) => {
      const plain = out.replace(ANSI, "");
      resolve({ code: code ?? 1, counts: PARSERS[runtime]!(plain) });
    });
  });
}

const lines: string[] = [];
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
const before = leftovers();
const left: string[] = [];
for (const runtime of ["deno", "bun", "node"]) {
  const { code, counts } = await run(runtime);
  for (const [path, mtime] of leftovers()) {
    if (before.get(path) !== mtime && !left.some((l) => l.startsWith(path))) {
      left.push(`${path} (after ${runtime})`);
    }
  }
  if (code !== 0 || !counts) ok = false;
  if (!counts) {
    lines.push(`${runtime}: no summary found (exit code ${code})`);
    continue;
  }
  const steps = counts.steps ? ` (${counts.steps} steps)` : "";
  lines.push(
    `${runtime}: ${counts.passed} passed${steps}, ${counts.failed} failed, ${counts.skipped} skipped`,
  );
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}
rmSync(TMP, { recursive: true, force: true });
if (left.length > 0) {
  ok = false;
  lines.push(
    `LEFT BEHIND: the suite left ${left.length} file(s) it should have removed:`,
    ...left.map((path) => `  ${path.replace(TMP, "$TMPDIR")}`),
  );
}
console.log(`\n${lines.join("\n")}`);
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(ok ? 0 : 1);
