#!/usr/bin/env bun
/**
 * The `tasklite` command line: serve the HTTP API and dashboard (optionally with a worker), and
 * inspect or change a queue file from a shell.
 *
 * ```sh
 * deno run -A jsr:@tasklite/tasklite/cli --help
 * deno run -A cli.ts stats --db tasks.db     # or: bun cli.ts …, node cli.ts … (Node >= 22.18)
 * deno run -A cli.ts serve --port 8080 --handlers ./handlers.ts
 * ```
 *
 * Exit codes: 0 on success, 1 when a command fails (such as an unknown task id), 2 for a usage
 * error. Imported as a module, it runs nothing and exports {@linkcode main}.
 *
 * @example Run the CLI in-process
 * ```ts ignore
 * import { main } from "@tasklite/tasklite/cli";
 *
 * const code = await main(["stats", "--db", "tasks.db", "--json"]);
 * console.log(code); // 0
 * ```
 *
 * @module
 */

import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { main } from "./src/cli/main.ts";

export { type CliIo, main } from "./src/cli/main.ts";

/** Whether this file is the program being run (Node 22 has no `import.meta.main`). */
function isEntry(): boolean {
  const flag = (import.meta as { main?: boolean }).main;
  if (typeof flag === "boolean") return flag;
  const entry = process.argv[1];
  if (!entry || !import.meta.url.startsWith("file:")) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Node.js 22 warns that `node:sqlite` is experimental on every run; a CLI's stderr is for the
 * user's errors, so drop that one warning and pass any other on to the usual listeners.
 */
function quietSqliteWarning(): void {
  const listeners = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "ExperimentalWarning" && warning.message.includes("SQLite")) return;
    for (const listener of listeners) listener.call(process, warning);
  });
}

if (isEntry()) {
  quietSqliteWarning();
  const code = await main(process.argv.slice(2));
  // Let piped output drain before exiting (writes to pipes are asynchronous on some systems).
  await new Promise((resolve) => process.stdout.write("", resolve));
  await new Promise((resolve) => process.stderr.write("", resolve));
  process.exit(code);
}
