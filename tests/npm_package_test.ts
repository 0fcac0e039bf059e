/**
 * The npm package as a Node or Bun user gets it: `deno task build`'s dist/ (scripts/build_npm.ts),
 * `npm pack`, `npm install <tarball>` into a fresh project with no TypeScript tooling, then the
 * README's quick start (its TypeScript stripped to a `.mjs` file), `npx tasklite stats` and
 * `tasklite --version`, each under Node 22 and under Bun, from that install.
 *
 * It runs once, in the Node run of the suite (it spawns Node 22 and Bun itself), and needs the npm
 * registry (or npm's cache) for the package's dependencies.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { RUNTIME } from "./_helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
};

/** Enqueues one task into the file named by its argument, through the installed package. */
const SEED = `import { TaskQueue } from "${PACKAGE.name}";
const queue = await TaskQueue.open(process.argv[2]);
await queue.enqueue({ name: "seed", taskType: "seed" });
await queue.close();
`;

/** An isolated handler, run in a thread from the installed (compiled) package. */
const ISOLATED = `import { isolated, TaskQueue, Worker } from "${PACKAGE.name}";
const queue = await TaskQueue.open(":memory:");
const id = await queue.enqueue({ name: "double", taskType: "double", payload: { n: 21 } });
const handler = isolated(new URL("./double.mjs", import.meta.url));
await new Worker(queue, { handlers: { double: handler } }).tick();
console.log(JSON.stringify(await queue.getTask(id)));
await queue.close();
`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects on a non-zero exit. */
function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a command and fails with its output unless it exits 0. */
async function ok(command: string, args: string[], options: Parameters<typeof run>[2] = {}) {
  const ran = await run(command, args, options);
  assert.equal(
    ran.code,
    0,
    `${command} ${args.join(" ")} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}`,
  );
  return ran;
}

/** The README's quick start, its types stripped by Node (no TypeScript tooling in the project). */
async function quickStart(): Promise<string> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const code = readme.split("## Quick start")[1]?.match(/```ts\n([\s\S]*?)```/)?.[1];
  assert.ok(code, "README.md has a ```ts block under ## Quick start");
  const { stripTypeScriptTypes } = await import("node:module") as unknown as {
    stripTypeScriptTypes: (code: string) => string;
  };
  return stripTypeScriptTypes(code);
}

if (RUNTIME !== "node") {
  test(`npm package (${RUNTIME}): skipped, it runs in the Node run (it spawns Node 22 and Bun)`, {
    skip: "runs once, under Node 22",
  }, () => {});
} else {
  describe("npm package: packed, installed and run without TypeScript tooling", () => {
    const temp = mkdtempSync(join(tmpdir(), "tasklite-npm-"));
    const project = join(temp, "project");
    const hadDist = existsSync(join(ROOT, "dist"));
    let node = "";
    let bun = "";
    let packed: string[] = [];
    const exec = (runtime: "node" | "bun") => runtime === "node" ? node : bun;
    /** Runs the installed bin: on Node by npx (its shebang, Node 22 first on PATH), on Bun by bunx --bun. */
    const runBin = (runtime: "node" | "bun", args: string[]) =>
      runtime === "node"
        ? ok("npx", ["--no", "--", "tasklite", ...args], {
          cwd: project,
          env: { PATH: onPath(node) },
        })
        : ok(bun, ["x", "--bun", "tasklite", ...args], {
          cwd: project,
          env: { PATH: onPath(bun) },
        });

    before(async () => {
      node = process.version.startsWith("v22.")
        ? process.execPath
        : (await ok("npx", ["-y", "node@22", "-p", "process.execPath"])).stdout.trim();
      bun = (await ok("npx", ["-y", "bun@1", "-e", "console.log(process.execPath)"])).stdout.trim();
      await ok(node, [join(ROOT, "scripts", "build_npm.ts")]);
      const pack = await ok("npm", [
        "pack",
        "--ignore-scripts",
        "--json",
        "--pack-destination",
        temp,
      ]);
      const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
      assert.ok(info);
      packed = info.files.map((file) => file.path);
      mkdirSync(project);
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "app", private: true, type: "module" }),
      );
      await ok("npm", [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        join(temp, info.filename),
      ], { cwd: project, env: { PATH: onPath(node) } });
      writeFileSync(join(project, "quick_start.mjs"), await quickStart());
      writeFileSync(join(project, "seed.mjs"), SEED);
      writeFileSync(join(project, "isolated.mjs"), ISOLATED);
      writeFileSync(
        join(project, "double.mjs"),
        "export default ({ n }) => ({ doubled: n * 2 });\n",
      );
    });

    after(() => {
      rmSync(temp, { recursive: true, force: true });
      if (!hadDist) rmSync(join(ROOT, "dist"), { recursive: true, force: true });
    });

    test("the tarball holds the build, README, LICENSE and package.json only", () => {
      const other = packed.filter((path) =>
        !path.startsWith("dist/") && !["package.json", "README.md", "LICENSE"].includes(path)
      );
      assert.deepEqual(other, []);
      for (const path of ["dist/mod.js", "dist/mod.d.ts", "dist/hono.js", "dist/cli.js"]) {
        assert.ok(packed.includes(path), `${path} is packed`);
      }
      assert.ok(!packed.some((path) => path.endsWith(".ts") && !path.endsWith(".d.ts")));
    });

    for (const runtime of ["node", "bun"] as const) {
      test(`${runtime}: the README quick start runs a task to completion`, async () => {
        const ran = await ok(exec(runtime), ["quick_start.mjs"], { cwd: project });
        assert.match(ran.stdout, /completed: 1\b/);
        assert.match(ran.stdout, /sent: true/);
        for (const suffix of ["", "-wal", "-shm"]) {
          rmSync(join(project, `tasks.db${suffix}`), { force: true });
        }
      });

      test(`${runtime}: an isolated handler runs in its thread`, async () => {
        const ran = await ok(exec(runtime), ["isolated.mjs"], { cwd: project });
        const task = JSON.parse(ran.stdout) as { status: string; result: unknown };
        assert.equal(task.status, "completed");
        assert.deepEqual(task.result, { doubled: 42 });
      });

      test(`${runtime}: the tasklite bin reads a queue`, async () => {
        const db = join(temp, `${runtime}.db`);
        await ok(exec(runtime), ["seed.mjs", db], { cwd: project });
        const stats = await runBin(runtime, ["stats", "--db", db, "--json"]);
        assert.equal(JSON.parse(stats.stdout).pending, 1);
      });

      test(`${runtime}: tasklite --version prints the package's version`, async () => {
        const version = await runBin(runtime, ["--version"]);
        const pattern = new RegExp(`(^|\\s)v?${PACKAGE.version.replaceAll(".", "\\.")}$`);
        assert.match(version.stdout.trim(), pattern);
      });
    }
  });
}

/** PATH with the directory of `exec` first (so `#!/usr/bin/env node` finds that Node). */
function onPath(exec: string): string {
  return [dirname(exec), process.env.PATH ?? ""].join(delimiter);
}
