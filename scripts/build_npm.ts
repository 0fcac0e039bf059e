/**
 * Builds the npm package into `dist/`: the same sources JSR publishes as TypeScript, compiled by
 * `tsc` (the `typescript` devDependency, options in scripts/tsconfig.npm.json) to JavaScript with
 * `.d.ts` types, because Node does not strip types under `node_modules`. Then:
 *
 * - relative `.ts` specifiers left in the `.d.ts` files become `.js` (tsc rewrites them in the
 *   JavaScript only), and the build fails if a `.js` file still imports a relative `.ts` file;
 * - `dist/cli.js` (the `tasklite` bin) gets a `#!/usr/bin/env node` shebang and the executable bit.
 *
 * Runs on Deno, Node >= 22.18 or Bun after `deno install` (or `npm install`):
 *
 * ```sh
 * deno task build        # npm pack runs it too (the prepack script)
 * ```
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "dist");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const SHEBANG = "#!/usr/bin/env node";
/** A relative specifier ending in `.ts` in an import, export or `import()` (not `.d.ts`). */
const RELATIVE_TS = /((?:from|import\()\s*)(["'])(\.{1,2}\/[^"']*?)(?<!\.d)\.ts\2/g;

/** A line inside a comment. */
const COMMENT = /^\s*(?:\*|\/\/|\/\*)/;

/** Every file under `dir`, as paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

rmSync(DIST, { recursive: true, force: true });
const args = [TSC, "-p", join(ROOT, "scripts", "tsconfig.npm.json")];
const tsc = spawnSync(process.execPath, "Deno" in globalThis ? ["run", "-A", ...args] : args, {
  stdio: "inherit",
});
if (tsc.error) {
  throw new Error(`Cannot build the npm package: tsc did not start`, { cause: tsc.error });
}
if (tsc.status !== 0) {
  console.error(`Cannot build the npm package: tsc exited ${tsc.status ?? tsc.signal}`);
  process.exit(1);
}

/** The lines of code of `text` (JSDoc examples and comments left out). */
function codeLines(text: string): string[] {
  return text.split("\n").filter((line) => !COMMENT.test(line));
}

const leftOver: string[] = [];
for (const file of filesUnder(DIST)) {
  const text = readFileSync(file, "utf8");
  if (file.endsWith(".d.ts")) {
    const lines = text.split("\n").map((line) =>
      COMMENT.test(line)
        ? line
        : line.replace(RELATIVE_TS, (_, lead, quote, path) => `${lead}${quote}${path}.js${quote}`)
    );
    writeFileSync(file, lines.join("\n"));
  } else if (
    file.endsWith(".js") && codeLines(text).some((line) => line.search(RELATIVE_TS) >= 0)
  ) {
    leftOver.push(file);
  }
}
if (leftOver.length > 0) {
  console.error(
    `Cannot build the npm package: relative .ts imports left in ${leftOver.join(", ")}`,
  );
  process.exit(1);
}

const cli = join(DIST, "cli.js");
const source = readFileSync(cli, "utf8");
writeFileSync(
  cli,
  `${SHEBANG}\n${source.startsWith("#!") ? source.slice(source.indexOf("\n") + 1) : source}`,
);
chmodSync(cli, 0o755);
console.log(`npm package built in ${DIST}`);
