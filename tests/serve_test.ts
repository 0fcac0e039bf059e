/** `serve()` from src/http/serve.ts on the current runtime: a free port, requests, and close. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serve } from "../src/http/serve.ts";

describe("serve", () => {
  test("port 0 picks a free port; requests reach the handler; close stops listening", async () => {
    const server = await serve(async (request) => {
      const url = new URL(request.url);
      const body = request.method === "POST" ? await request.text() : "";
      return Response.json({ method: request.method, path: url.pathname, body }, { status: 201 });
    }, { port: 0 });
    try {
      assert.ok(server.port > 0 && server.port < 65_536);
      assert.equal(server.hostname, "127.0.0.1");
      assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
      const response = await fetch(`${server.url}tasks?x=1`, { method: "POST", body: "hello" });
      assert.equal(response.status, 201);
      assert.deepEqual(await response.json(), { method: "POST", path: "/tasks", body: "hello" });
    } finally {
      const closing = server.close();
      assert.equal(server.close(), closing, "close() twice returns the same promise");
      await closing;
    }
    await assert.rejects(fetch(server.url), "nothing listens after close");
  });

  test("close cuts a response that never ends (an event stream) after its grace period", async () => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const server = await serve(() => {
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode("data: first\n\n"));
          timer = setInterval(() => controller.enqueue(encoder.encode(": ping\n\n")), 20);
        },
        cancel: () => clearInterval(timer),
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }, { port: 0 });
    try {
      const response = await fetch(server.url);
      const reader = response.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /data: first/);
      const started = performance.now();
      await server.close({ timeoutMs: 100 });
      const took = performance.now() - started;
      assert.ok(took >= 80, `waited for the grace period (${took} ms)`);
      assert.ok(took < 5_000, `then cut the stream (${took} ms)`);
      // The client sees the stream end, cleanly or not.
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true }));
        if (chunk.done) break;
      }
    } finally {
      clearInterval(timer);
      await server.close();
    }
  });

  test("a taken port rejects with EADDRINUSE; bad options are TypeErrors", async () => {
    const first = await serve(() => new Response("first"), { port: 0 });
    try {
      await assert.rejects(
        serve(() => new Response("second"), { port: first.port }),
        (error: { code?: string }) => error.code === "EADDRINUSE",
      );
      await assert.rejects(serve(() => new Response(""), { port: 70_000 }), TypeError);
      await assert.rejects(serve(() => new Response(""), { port: 1.5 }), TypeError);
      await assert.rejects(serve(() => new Response(""), { hostname: "" }), TypeError);
      assert.equal(await (await fetch(first.url)).text(), "first", "the first server still serves");
    } finally {
      await first.close();
    }
  });
});
