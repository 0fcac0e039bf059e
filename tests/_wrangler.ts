/**
 * What the Cloudflare tests need: wrangler installed from npm into a scratch folder, a Node 22 to
 * run it, and `wrangler dev` started on a free port with its state in that folder (so a restart
 * sees the same Durable Object storage) and stopped with its whole process group.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { freePort } from "../chaos/_spawn.ts";

/** The wrangler the tests install (its workerd comes with it). */
export const WRANGLER_VERSION = "4.86.0";

/** The repository's root. */
export const ROOT: string = join(dirname(new URL(import.meta.url).pathname), "..");

/** A Node 22 or newer (wrangler needs it): this one, one on PATH, or npm's `node@22`. */
function node22(): string | null {
  const major = (path: string) => {
    const out = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout ?? "";
    return Number(out.replace(/^v/, "").split(".")[0]);
  };
  if (!("Deno" in globalThis) && !("Bun" in globalThis) && major(process.execPath) >= 22) {
    return process.execPath;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["node22", "node"]) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate) && major(candidate) >= 22) return candidate;
    }
  }
  const npx = spawnSync("npx", ["-y", "node@22", "-e", "console.log(process.execPath)"], {
    encoding: "utf8",
    timeout: 180_000,
  });
  const path = npx.stdout?.trim();
  return npx.status === 0 && path ? path : null;
}

/** wrangler, installed: where, and how to run it. */
export interface Wrangler {
  /** The scratch folder (wrangler's install, logs and Durable Object state). */
  readonly dir: string;
  /** Starts `wrangler dev` with `config`; `state` names the persisted state's folder. */
  dev(config: string, options?: { state?: string; vars?: Record<string, string> }): Promise<Dev>;
  /** Runs `wrangler deploy --dry-run` on `config` and returns the bundle's folder. */
  bundle(config: string): string;
  /** Removes the scratch folder and the `.wrangler` folders wrangler left beside the configs. */
  cleanup(): void;
}

/** A running `wrangler dev`. */
export interface Dev {
  /** Its URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Stops it (and workerd) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Installs wrangler into a scratch folder in the temporary directory.
 *
 * @returns wrangler, or why it cannot be had (no Node 22, no registry).
 */
export function installWrangler(): Wrangler | { skip: string } {
  const node = node22();
  if (!node) return { skip: "no Node.js 22 (wrangler needs it), not even from npx" };
  const dir = mkdtempSync(join(tmpdir(), "tasklite-wrangler-"));
  const npm = spawnSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--loglevel=error", `wrangler@${WRANGLER_VERSION}`],
    {
      cwd: dir,
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, npm_config_yes: "true" },
    },
  );
  const bin = join(dir, "node_modules", "wrangler", "bin", "wrangler.js");
  if (npm.status !== 0 || !existsSync(bin)) {
    rmSync(dir, { recursive: true, force: true });
    const why = (npm.stderr || npm.error?.message || "").trim().split("\n").slice(-3).join(" ");
    return { skip: `npm could not install wrangler@${WRANGLER_VERSION}: ${why}` };
  }
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false", // offline: no Request.cf download
    WRANGLER_LOG_PATH: join(dir, "logs"),
    NO_COLOR: "1",
    CI: "true", // no prompts
  };
  // The `.wrangler` folders wrangler makes beside a config (its bundles), removed at cleanup.
  const made = new Set<string>();
  const leftBehind = (config: string) => {
    const folder = join(dirname(config), ".wrangler");
    if (!existsSync(folder)) made.add(folder);
  };
  return {
    dir,
    async dev(config, options = {}) {
      leftBehind(config);
      const [port, inspector] = [await freePort(), await freePort()];
      const args = [
        bin,
        "dev",
        "--config",
        config,
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspector),
        "--persist-to",
        join(dir, options.state ?? "state"),
        "--show-interactive-dev-session=false",
        "--log-level",
        "log", // console.log of the Worker too
        ...Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
      ];
      const child = spawn(node, args, { cwd: dirname(config), env, detached: true });
      let out = "";
      child.stdout?.on("data", (chunk) => out += chunk);
      child.stderr?.on("data", (chunk) => out += chunk);
      const url = `http://127.0.0.1:${port}`;
      const dev: Dev = { url, output: () => out, stop: () => stopGroup(child) };
      try {
        await ready(url, child, () => out);
      } catch (error) {
        await dev.stop();
        throw error;
      }
      return dev;
    },
    bundle(config) {
      leftBehind(config);
      const outdir = mkdtempSync(join(dir, "bundle-"));
      const run = spawnSync(node, [
        bin,
        "deploy",
        "--dry-run",
        "--config",
        config,
        "--outdir",
        outdir,
      ], {
        cwd: dirname(config),
        env,
        encoding: "utf8",
        timeout: 180_000,
      });
      if (run.status !== 0) {
        throw new Error(`wrangler deploy --dry-run failed:\n${run.stdout}${run.stderr}`);
      }
      return outdir;
    },
    cleanup() {
      for (const folder of made) rmSync(folder, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `wrangler dev` answers (two minutes at most: the first start builds the bundle). */
async function ready(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output()}`);
    if (/Ready on http/.test(output())) {
      try {
        await fetch(`${url}/__ping`).then((response) => response.body?.cancel());
        return;
      } catch {
        // not listening yet
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`wrangler dev did not start within 120 s:\n${output()}`);
}

/** Stops a detached child and its children (workerd), and waits for it to exit. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
