/**
 * Serves a `fetch` handler (such as a Hono app's `app.fetch`) over HTTP on Deno, Bun or Node.js:
 * `Deno.serve` on Deno, `Bun.serve` on Bun, and `node:http` with `@hono/node-server`'s request
 * listener on Node.js (loaded only there).
 *
 * @module
 */

/** A `fetch`-style request handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Where {@linkcode serve} listens. */
export interface ServeOptions {
  /**
   * The TCP port; `0` picks a free one (see {@linkcode RunningServer.port}).
   *
   * @default {8080}
   */
  port?: number;
  /**
   * The interface to listen on; `"0.0.0.0"` for every IPv4 interface.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
}

/** How {@linkcode RunningServer.close} stops. */
export interface CloseOptions {
  /**
   * How long requests in flight get to finish before their connections are closed. An open
   * event stream (`text/event-stream`) never finishes by itself, so it is always cut then.
   *
   * @default {1000}
   */
  timeoutMs?: number;
}

/** A listening server, as returned by {@linkcode serve}. */
export interface RunningServer {
  /** The port it listens on (the real one when `0` was asked). */
  port: number;
  /** The interface it listens on. */
  hostname: string;
  /** Its base URL, such as `http://127.0.0.1:8080/`. */
  url: string;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `timeoutMs`, then
   * closes the connections left; resolves once the server is closed. Calling it again returns the
   * same promise.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** The part of `Deno.serve` used here (typed locally so this file needs no Deno types). */
interface DenoLike {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: unknown) => void },
    handler: FetchHandler,
  ): { addr: { port: number; hostname: string }; shutdown(): Promise<void> };
}

/** The part of `Bun.serve` used here. */
interface BunLike {
  serve(
    options: { port: number; hostname: string; fetch: FetchHandler },
  ): { port: number; stop(closeActiveConnections?: boolean): Promise<void> | void };
}

/**
 * Serves `fetch` over HTTP on the current runtime and resolves once it is listening.
 *
 * @example Serve a handler on a free port
 * ```ts
 * import { serve } from "./serve.ts";
 *
 * const server = await serve(() => new Response("hello"), { port: 0 });
 * console.log(await (await fetch(server.url)).text()); // "hello"
 * await server.close();
 * ```
 *
 * @param fetch The request handler, such as a Hono app's `app.fetch`.
 * @param options The port (default 8080, `0` for a free one) and hostname (default `127.0.0.1`).
 * @returns The listening server: its real port, hostname, URL, and `close()`.
 * @throws {TypeError} `port` is not an integer from 0 to 65535, or `hostname` is empty.
 * @throws {Error} The port is taken (`code` `"EADDRINUSE"`) or cannot be listened on.
 */
export async function serve(
  fetch: FetchHandler,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const { port = 8080, hostname = "127.0.0.1" } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError("Invalid serve options: port must be an integer from 0 to 65535");
  }
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError("Invalid serve options: hostname must be a non-empty string");
  }
  const runtime = globalThis as { Deno?: DenoLike; Bun?: BunLike };

  if ("Deno" in globalThis && runtime.Deno) {
    // Deno's shutdown() waits for every response to end, and has no forced mode: after the grace
    // period, answer the requests still waiting with 503 and cut the bodies still streaming.
    // (request.signal is left alone: touching it makes Deno warn about its legacy abort.)
    const cut = new AbortController();
    const server = runtime.Deno.serve({ port, hostname, onListen() {} }, async (request) => {
      const response = await untilCut(fetch(request), cut.signal);
      if (!response.body || cut.signal.aborted) return response;
      return new Response(cuttable(response.body, cut.signal), response);
    });
    return running(
      server.addr.port,
      hostname,
      (timeoutMs) => graceful(server.shutdown(), timeoutMs, () => cut.abort()),
    );
  }

  if ("Bun" in globalThis && runtime.Bun) {
    const server = runtime.Bun.serve({ port, hostname, fetch });
    return running(server.port, hostname, (timeoutMs) =>
      graceful(
        Promise.resolve(server.stop(false)),
        timeoutMs,
        () => void server.stop(true),
      ));
  }

  const { createServer } = await import("node:http");
  const { getRequestListener } = await import("@hono/node-server");
  const server = createServer(getRequestListener(fetch, { overrideGlobalObjects: false }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === "object" && address !== null ? address.port : port;
  return running(actual, hostname, (timeoutMs) => {
    const closed = new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve()))
    );
    server.closeIdleConnections();
    return graceful(closed, timeoutMs, () => server.closeAllConnections());
  });
}

/** The handler's response, or a 503 once `signal` aborts first. */
function untilCut(
  response: Response | Promise<Response>,
  signal: AbortSignal,
): Promise<Response> {
  const unavailable = () => new Response("Server shutting down", { status: 503 });
  if (signal.aborted) return Promise.resolve(unavailable());
  return new Promise((resolve, reject) => {
    const onCut = () => resolve(unavailable());
    signal.addEventListener("abort", onCut, { once: true });
    Promise.resolve(response).then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onCut)
    );
  });
}

/** `body`, ended early (cleanly, so Deno logs no error) once `signal` aborts. */
function cuttable(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  let onCut = () => {};
  const end = () => {
    ended = true;
    signal.removeEventListener("abort", onCut);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      onCut = () => {
        if (ended) return;
        end();
        controller.close();
        reader.cancel(signal.reason).catch(() => {});
      };
      signal.addEventListener("abort", onCut, { once: true });
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (ended) return;
        if (done) {
          end();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        if (ended) return;
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
}

/** Waits for `closed`; after `timeoutMs`, calls `cut` and goes on waiting. */
async function graceful(closed: Promise<void>, timeoutMs: number, cut: () => void): Promise<void> {
  const timer = setTimeout(cut, timeoutMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

function running(
  port: number,
  hostname: string,
  close: (timeoutMs: number) => Promise<void>,
): RunningServer {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  let closing: Promise<void> | null = null;
  return {
    port,
    hostname,
    url: `http://${host}:${port}/`,
    close(options = {}) {
      const { timeoutMs = 1000 } = options;
      if (!(timeoutMs >= 0)) {
        return Promise.reject(new TypeError("Invalid close options: timeoutMs must be >= 0"));
      }
      return (closing ??= close(timeoutMs));
    },
  };
}
