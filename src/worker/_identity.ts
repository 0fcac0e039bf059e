/**
 * Who a worker is, for the worker registry: its host, process id and runtime. `node:os` is loaded
 * by dynamic import only when a worker registers (never by importing `mod.ts`); where there is no
 * such module (a Durable Object, a browser) the host is `""`.
 *
 * @module
 */

/** A worker process's identity. */
export interface ProcessIdentity {
  host: string;
  pid: number | null;
  runtime: string;
}

interface RuntimeGlobals {
  Deno?: { version?: { deno?: string }; pid?: number };
  Bun?: { version?: string };
  process?: { pid?: number; versions?: { node?: string } };
}

/** The runtime and its version: `deno 2.5.0`, `bun 1.3.0`, `node 22.18.0`, else `unknown`. */
export function runtimeName(): string {
  const g = globalThis as RuntimeGlobals;
  if (g.Deno?.version?.deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun?.version) return `bun ${g.Bun.version}`;
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return "unknown";
}

/**
 * This process's identity.
 *
 * @returns Host, pid and runtime.
 */
export async function processIdentity(): Promise<ProcessIdentity> {
  const g = globalThis as RuntimeGlobals;
  const pid = g.process?.pid ?? g.Deno?.pid ?? null;
  let host = "";
  try {
    const os = await import("node:os");
    host = os.hostname();
  } catch {
    // no node:os here: the host stays unknown
  }
  return { host, pid: typeof pid === "number" ? pid : null, runtime: runtimeName() };
}
