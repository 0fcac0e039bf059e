/**
 * Importing an entry point must load only what it uses: `mod.ts` (and the remote-worker path,
 * `src/http/client.ts`, `src/http/http_worker.ts`) touch no `node:` or `bun:` builtin and no
 * drizzle, and run no code that reads a runtime global (`Deno`, `Bun`, `process`), so that they import in workerd or a browser.
 *
 * The graph is read from the sources (relative files followed; `import type`, `export type` and
 * `import()` inside functions skipped) by a tokenizer that knows comments, strings, templates and
 * regexps, and tells code that runs at import time from code in functions, methods, arrow
 * functions and class bodies. Under Deno, the static edges of `deno info --json` are checked too.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = ["mod.ts", "src/http/client.ts", "src/http/http_worker.ts"];
const RUNTIME_GLOBALS = new Set(["Deno", "Bun", "process"]);

/** A specifier that importing an entry point must not reach. */
const forbidden = (specifier: string): boolean =>
  /^(node|bun):/.test(specifier) || /^(npm:\/?)?drizzle-orm(@[^/]*)?(\/|$)/.test(specifier);

interface Token {
  kind: "name" | "punct" | "string" | "template" | "regex" | "number";
  value: string;
  line: number;
}

const REGEX_AFTER = new Set(
  "return typeof instanceof in of new delete void throw case do else yield await".split(" "),
);

/** Splits TypeScript source into tokens; comments go, `${ … }` become `(` … `)`. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const templates: number[] = []; // the brace depth each open `${` returns to
  let braces = 0;
  let line = 1;
  let i = 0;
  const push = (kind: Token["kind"], value: string) => tokens.push({ kind, value, line });
  const advance = (to: number) => {
    for (; i < to; i++) if (source[i] === "\n") line++;
  };
  const templateChunk = () => {
    // i is just after "`" or after the "}" closing a `${`.
    let j = i;
    while (j < source.length && source[j] !== "`" && !source.startsWith("${", j)) {
      j += source[j] === "\\" ? 2 : 1;
    }
    push("template", source.slice(i, j));
    if (source[j] === "`") return advance(j + 1);
    advance(j + 2);
    templates.push(braces);
    push("punct", "(");
  };
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (/\s/.test(c)) {
      advance(i + 1);
    } else if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      advance(end < 0 ? source.length : end);
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      advance(end < 0 ? source.length : end + 2);
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== "\n") {
        j += source[j] === "\\" ? 2 : 1;
      }
      push("string", source.slice(i + 1, j));
      advance(j + 1);
    } else if (c === "`") {
      advance(i + 1);
      templateChunk();
    } else if (c === "}" && templates.at(-1) === braces) {
      templates.pop();
      push("punct", ")");
      advance(i + 1);
      templateChunk();
    } else if (c === "/" && regexAllowed(tokens.at(-1))) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length && source[j] !== "\n" && (inClass || source[j] !== "/")) {
        if (source[j] === "[") inClass = true;
        else if (source[j] === "]") inClass = false;
        j += source[j] === "\\" ? 2 : 1;
      }
      j++;
      while (/[a-z]/.test(source[j] ?? "")) j++;
      push("regex", source.slice(i, j));
      advance(j);
    } else if (/[A-Za-z_$#]/.test(c)) {
      const word = /^[#\w$]+/.exec(source.slice(i, i + 200))![0];
      push("name", word);
      advance(i + word.length);
    } else if (/[0-9]/.test(c)) {
      const number = /^[\w.]+/.exec(source.slice(i, i + 100))![0];
      push("number", number);
      advance(i + number.length);
    } else {
      const punct = ["=>", "?.", "..."].find((p) => source.startsWith(p, i)) ?? c;
      if (punct === "{") braces++;
      if (punct === "}") braces--;
      push("punct", punct);
      advance(i + punct.length);
    }
  }
  return tokens;
}

function regexAllowed(previous: Token | undefined): boolean {
  if (!previous) return true;
  if (previous.kind === "name") return REGEX_AFTER.has(previous.value);
  if (previous.kind === "punct") return ![")", "]", "}"].includes(previous.value);
  return false;
}

/** What a module does at import time. */
interface ModuleFacts {
  /** Static imports and re-exports, side-effect imports, and `import()` at top level. */
  imports: { specifier: string; line: number }[];
  /** Reads of `Deno`, `Bun` or `process` by code that runs at import time. */
  globals: { text: string; line: number }[];
  /** The brackets still open at the end: non-zero means the tokenizer lost its way. */
  unclosed: number;
}

type FrameKind =
  | "block" // runs when its surroundings run: a block statement, an object literal
  | "paren"
  | "bracket"
  | "function" // a function, method or arrow body: runs when called
  | "params" // a function's parameter list (defaults run when called)
  | "class" // instance members run at construction
  | "static" // a static block inside a class: runs with the class
  | "type" // an interface body: never runs
  // Frames without brackets, ended by `;` (and arrows by `,`) or by the enclosing bracket:
  | "arrow" // the expression body of an arrow function
  | "alias" // `type X = …;`: never runs
  | "init"; // `static x = …;`: runs with the class

const PSEUDO = new Set<FrameKind>(["arrow", "alias", "init"]);

interface Frame {
  kind: FrameKind;
  /** For parens: the keyword or name before `(` (to tell `if (…) {` from `f(…) {`). */
  head?: string;
  /** For class frames: the tokens of the member being read. */
  member?: string[];
}

const CONTROL = new Set("if for while switch catch with".split(" "));
const BLOCK_AFTER = new Set(
  "else try finally do return typeof in of case yield await throw default".split(" "),
);

/** Reads a module's import-time behaviour from its source. */
function analyze(source: string): ModuleFacts {
  const tokens = tokenize(source);
  const facts: ModuleFacts = { imports: [], globals: [], unclosed: 0 };
  const stack: Frame[] = [];
  let pending: { kind: "class" | "type"; depth: number } | null = null;
  let lastParenHead: string | undefined;

  const runsNow = () => {
    let inStatic = false;
    for (let f = stack.length - 1; f >= 0; f--) {
      const kind = stack[f]!.kind;
      if (["function", "arrow", "params", "type", "alias"].includes(kind)) return false;
      if (kind === "static" || kind === "init") inStatic = true;
      if (kind === "class") {
        if (!inStatic) return false;
        inStatic = false;
      }
    }
    return true;
  };
  const popWhile = (kinds: Set<FrameKind>) => {
    while (stack.length > 0 && kinds.has(stack.at(-1)!.kind)) stack.pop();
  };
  const ARROW = new Set<FrameKind>(["arrow"]);

  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    const previous = tokens[k - 1];
    const next = tokens[k + 1];
    const { kind, value } = token;

    // Static imports and re-exports (only legal at top level).
    if (stack.length === 0 && kind === "name" && (value === "import" || value === "export")) {
      const end = statementEnd(tokens, k);
      const parsed = parseImport(tokens.slice(k, end));
      if (parsed !== undefined) {
        if (parsed !== null) facts.imports.push({ specifier: parsed, line: token.line });
        k = end - 1;
        continue;
      }
    }
    // `import("…")` that runs at import time (such as a top-level `await import(…)`).
    if (
      kind === "name" && value === "import" && next?.value === "(" &&
      tokens[k + 2]?.kind === "string" && runsNow()
    ) {
      facts.imports.push({ specifier: tokens[k + 2]!.value, line: token.line });
    }
    // A runtime global read by code that runs now.
    if (kind === "name" && RUNTIME_GLOBALS.has(value) && runsNow()) {
      const viaGlobalThis = (previous?.value === "." || previous?.value === "?.") &&
        tokens[k - 2]?.value === "globalThis";
      const isProperty = previous?.value === "." || previous?.value === "?.";
      const isRead = next?.value === "." || next?.value === "?." || next?.value === "[";
      if (isRead && (!isProperty || viaGlobalThis)) {
        facts.globals.push({
          text: `${viaGlobalThis ? "globalThis." : ""}${value}${next!.value}${
            tokens[k + 2]?.value ?? ""
          }`,
          line: token.line,
        });
      }
    }

    const top = stack.at(-1);
    if (kind === "name") {
      if (value === "class") pending = { kind: "class", depth: stack.length };
      if (value === "interface") pending = { kind: "type", depth: stack.length };
      if (
        value === "type" && next?.kind === "name" && isStatementStart(previous) &&
        top?.kind !== "class"
      ) {
        stack.push({ kind: "alias" });
      }
      if (top?.kind === "class") top.member!.push(value);
      continue;
    }
    if (kind !== "punct") {
      if (top?.kind === "class") top.member!.push(value);
      continue;
    }
    switch (value) {
      case "{": {
        let frame: FrameKind;
        if (pending && pending.depth === stack.length) {
          frame = pending.kind;
          pending = null;
        } else if (previous?.value === "=>") frame = "function";
        else if (previous?.value === ")") {
          frame = CONTROL.has(lastParenHead ?? "") ? "block" : "function";
        } else if (top?.kind === "class" && previous?.value === "static") frame = "static";
        else if (previous?.kind === "name") {
          // `else {`, `return {` … run; after a return type (`): void {`) it is a body.
          frame = BLOCK_AFTER.has(previous.value) ? "block" : "function";
        } else if (
          previous && previous.kind !== "punct" ||
          previous?.value === "}" || previous?.value === ">" || previous?.value === "]"
        ) {
          frame = "function"; // after a return type such as `): Promise<T> {` or `): "a" | "b" {`
        } else frame = "block";
        stack.push(frame === "class" ? { kind: frame, member: [] } : { kind: frame });
        break;
      }
      case "(": {
        const head = previous?.value === "await" ? tokens[k - 2]?.value : previous?.value;
        const isParams = previous?.value === "function" || tokens[k - 2]?.value === "function";
        stack.push({ kind: isParams ? "params" : "paren", ...(head ? { head } : {}) });
        break;
      }
      case "[":
        stack.push({ kind: "bracket" });
        break;
      case "}":
      case ")":
      case "]": {
        popWhile(PSEUDO);
        const closed = stack.pop();
        if (value === ")") lastParenHead = closed?.head;
        const outer = stack.at(-1);
        if (outer?.kind === "class" && value === "}") outer.member = [];
        break;
      }
      case "=>":
        if (next?.value !== "{") stack.push({ kind: "arrow" });
        break;
      case ",":
        popWhile(ARROW);
        break;
      case ";":
        popWhile(PSEUDO);
        if (stack.at(-1)?.kind === "class") stack.at(-1)!.member = [];
        break;
      case "=":
        // `static x = …` runs when the class is defined; `x = …` when an instance is made.
        if (top?.kind === "class" && top.member!.includes("static")) stack.push({ kind: "init" });
        break;
    }
  }
  popWhile(PSEUDO);
  facts.unclosed = stack.length;
  return facts;
}

function isStatementStart(previous: Token | undefined): boolean {
  return !previous || previous.value === ";" || previous.value === "}" ||
    previous.value === "{" || previous.value === "export" || previous.value === "declare";
}

/** The index after an import/export statement's last token (its `;`, or the next statement). */
function statementEnd(tokens: Token[], start: number): number {
  let depth = 0;
  for (let k = start; k < tokens.length; k++) {
    const value = tokens[k]!.value;
    if (tokens[k]!.kind !== "punct") continue;
    if (value === "{" || value === "(" || value === "[") depth++;
    if (value === "}" || value === ")" || value === "]") depth--;
    if (value === ";" && depth === 0) return k + 1;
  }
  return tokens.length;
}

/**
 * The specifier an `import`/`export` statement loads; `null` for a type-only one; `undefined`
 * when the statement loads nothing (`export const …`, `import(…)`, `import.meta`).
 */
function parseImport(statement: Token[]): string | null | undefined {
  const [keyword, second, third] = statement;
  if (!keyword || !second) return undefined;
  const from = statement.findIndex((t, k) =>
    t.kind === "string" && (k === 1 || statement[k - 1]?.value === "from")
  );
  if (keyword.value === "import") {
    if (second.value === "(" || second.value === ".") return undefined;
    if (from < 0) return undefined;
    const typeOnly = second.value === "type" && third?.value !== "," && third?.value !== "from";
    return typeOnly ? null : statement[from]!.value;
  }
  // export
  const typeOnly = second.value === "type" && (third?.value === "{" || third?.value === "*");
  if (!typeOnly && second.value !== "{" && second.value !== "*") return undefined;
  if (from < 0) return undefined; // `export { a, b };`
  return typeOnly ? null : statement[from]!.value;
}

interface Graph {
  /** Every file reached, with the chain of files that imports it. */
  files: Map<string, string[]>;
  /** Every non-relative specifier reached, with its chain. */
  external: { specifier: string; chain: string[] }[];
  /** Runtime globals read at import time, per file. */
  globals: { file: string; line: number; text: string; chain: string[] }[];
}

/** Walks the import graph that loading `entry` runs, from the sources. */
function importGraph(entry: string): Graph {
  const graph: Graph = { files: new Map([[entry, [entry]]]), external: [], globals: [] };
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const chain = graph.files.get(file)!;
    const facts = analyze(readFileSync(resolve(ROOT, file), "utf8"));
    assert.equal(facts.unclosed, 0, `${file}: the tokenizer lost its way (unbalanced brackets)`);
    for (const global of facts.globals) graph.globals.push({ file, ...global, chain });
    for (const { specifier, line } of facts.imports) {
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
        graph.external.push({ specifier, chain: [...chain, `${specifier} (line ${line})`] });
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
      if (graph.files.has(target)) continue;
      graph.files.set(target, [...chain, target]);
      queue.push(target);
    }
  }
  return graph;
}

const describeChains = (chains: string[][]) => chains.map((c) => c.join(" → ")).join("\n");

describe("the tokenizer tells import-time code from the rest", () => {
  test("imports: static, re-exports and side effects count; types and import() do not", () => {
    const facts = analyze(`
      // import "./commented.ts";
      /* export * from "./block_commented.ts"; */
      import a, { b, type C } from "./a.ts";
      import type { D } from "node:fs";
      import type E from "./e.ts";
      import * as f from "../f.ts";
      import "./side_effect.ts";
      import {
        g,
        h,
      } from "node:path";
      export * from "./reexport.ts";
      export * as ns from "./ns.ts";
      export { i } from "bun:sqlite";
      export type { J } from "drizzle-orm";
      export type * from "./types.ts";
      export { k };
      export const text = "import x from './string.ts'";
      const later = () => import("node:os");
      const now = await import("./top_level_await.ts");
      const re = /import "\\/regex.ts"/;
    `);
    assert.equal(
      facts.imports.map((edge) => edge.specifier).join(" "),
      "./a.ts ../f.ts ./side_effect.ts node:path ./reexport.ts ./ns.ts bun:sqlite " +
        "./top_level_await.ts",
    );
  });

  test("globals: top-level reads count; reads inside functions, methods and classes do not", () => {
    const facts = analyze(`
      const debug = process.env.DEBUG;
      if (typeof x === "string") { Deno.exit(1); }
      export const config = { home: globalThis.process.env.HOME, run: () => Bun.version };
      const tpl = \`\${Deno.pid} and "Bun.version" in a string\`;
      // process.exit() in a comment
      function f(): { a: string } { return process.argv; }
      export async function g(): Promise<void> { Deno.exit(); }
      const h = (x: number) => process.exit(x), i = process.pid;
      const j = function (y = process.env) { return Deno.args; };
      class K {
        field = process.env;
        method(): void { Bun.gc(); }
        static s = Deno.build;
        static { process.title; }
        get v() { return Deno.version; }
      }
      interface L { process: { env: string } }
      type M = typeof process.env;
      const o = { process: 1, m() { return process.cwd(); } };
      const p = o.process.toString();
      for (const arg of process.argv) {}
    `);
    assert.equal(
      facts.globals.map((g) => `${g.line}:${g.text}`).join(" "),
      "2:process.env 3:Deno.exit 4:globalThis.process.env 5:Deno.pid 9:process.pid " +
        "14:Deno.build 15:process.title 22:process.argv",
    );
  });
});

for (const entry of ENTRIES) {
  describe(`importing ${entry}`, () => {
    const graph = importGraph(entry);

    test("reaches no node: or bun: builtin and no drizzle", () => {
      assert.ok(graph.files.size > 1 || entry !== "mod.ts", "the walk found mod.ts's files");
      const bad = graph.external.filter((e) => forbidden(e.specifier)).map((e) => e.chain);
      assert.deepEqual(bad, [], `importing ${entry} loads:\n${describeChains(bad)}`);
    });

    test("runs no code that reads Deno, Bun or process", () => {
      const found = graph.globals.map((g) => [...g.chain, `line ${g.line}: ${g.text}`]);
      assert.deepEqual(found, [], `read at import time:\n${describeChains(found)}`);
    });

    test("deno info: no static edge to a node: builtin or drizzle", (t) => {
      if (!("Deno" in globalThis)) return t.skip("deno info needs Deno");
      const info = JSON.parse(
        execFileSync(process.execPath, ["info", "--json", entry], {
          cwd: ROOT,
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
        }),
      ) as DenoInfo;
      const modules = new Map(info.modules.map((m) => [m.specifier, m]));
      const rootSpecifier = info.roots[0]!;
      const chains = new Map<string, string[]>([[rootSpecifier, [entry]]]);
      const bad: string[][] = [];
      const queue = [rootSpecifier];
      for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
        for (const dependency of modules.get(at)?.dependencies ?? []) {
          const target = dependency.code?.specifier;
          if (!target || dependency.isDynamic) continue; // type-only, or dynamic
          const resolved = info.redirects[target] ?? target;
          const isFile = resolved.startsWith("file:");
          const chain = [
            ...chains.get(at)!,
            isFile ? relative(ROOT, fileURLToPath(resolved)) : resolved,
          ];
          if (forbidden(resolved)) bad.push(chain);
          if (chains.has(resolved) || !isFile) continue;
          chains.set(resolved, chain);
          queue.push(resolved);
        }
      }
      // deno info and the source walk agree on the files loaded.
      const fromDeno = [...chains.keys()].map((s) => relative(ROOT, fileURLToPath(s))).sort();
      assert.deepEqual(fromDeno, [...graph.files.keys()].sort());
      assert.deepEqual(bad, [], `deno info: ${entry} loads\n${describeChains(bad)}`);
    });
  });
}

interface DenoInfo {
  roots: string[];
  redirects: Record<string, string>;
  modules: {
    specifier: string;
    dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
  }[];
}
