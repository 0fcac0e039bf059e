/**
 * Runs the suite under Deno, Bun and Node (the `test:deno`, `test:bun` and `test:node` tasks), one
 * after the other with their output as it comes, and ends with one summary line per runtime and a
 * total. Exits non-zero when any runner failed.
 *
 *   deno run -A tests/_run.ts
 */

import { spawn } from "node:child_process";
import process from "node:process";

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
    return {
      passed: Number(pass[1]),
      failed: Number(fail[1]),
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
for (const runtime of ["deno", "bun", "node"]) {
  const { code, counts } = await run(runtime);
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
console.log(`\n${lines.join("\n")}`);
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(ok ? 0 : 1);
