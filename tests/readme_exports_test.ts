/**
 * The README names every export of the two entry points (`mod.ts`, `hono.ts`) in backticks: the
 * values on every runtime (the modules' keys), and on Deno the types too (`deno doc --json`).
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RUNTIME } from "./_helpers.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** Whether the README writes `name` as code: `name`, `name(...)`, `name<...>` ... */
function named(name: string): boolean {
  return new RegExp("`" + name + "(`|[(<.\\[ ])").test(README);
}

test("the README names every value export of mod.ts and hono.ts", async () => {
  for (const entry of ["mod.ts", "hono.ts"]) {
    const names = Object.keys(await import(`../${entry}`));
    assert.ok(names.length > 0, `${entry} exports values`);
    const missing = names.filter((name) => !named(name));
    assert.deepEqual(missing, [], `${entry} exports missing from README.md`);
  }
});

test("the README names every type export too (deno doc)", {
  skip: RUNTIME === "deno" ? false : `types are read with deno doc (running on ${RUNTIME})`,
}, () => {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno!;
  const json = execFileSync(deno.execPath(), ["doc", "--json", "mod.ts", "hono.ts"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const doc = JSON.parse(json) as {
    nodes: Record<string, { symbols: { name: string }[] }>;
  };
  for (const [file, { symbols }] of Object.entries(doc.nodes)) {
    const missing = [...new Set(symbols.map((s) => s.name))].filter((name) => !named(name));
    assert.deepEqual(missing, [], `${file} exports missing from README.md`);
  }
});
