/**
 * The example's task handlers: the same registry a Worker takes anywhere else.
 *
 * @module
 */

import type { WorkerOptions } from "../../../mod.ts";

/** Task type → handler. */
export const handlers: WorkerOptions["handlers"] = {
  /** Returns its payload. */
  echo: (payload: unknown) => payload,
  /** Fails until its attempt `payload.succeedOnAttempt` (default 2), then returns the attempt. */
  flaky: (payload: { succeedOnAttempt?: number } | null, ctx) => {
    const attempt = ctx.task.attempts;
    if (attempt < (payload?.succeedOnAttempt ?? 2)) throw new Error(`attempt ${attempt} fails`);
    return { attempt };
  },
  /** Waits `payload.ms` (default 100) on a timer: the alarm keeps the object alive meanwhile. */
  sleep: async (payload: { ms?: number } | null, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, payload?.ms ?? 100));
    ctx.signal.throwIfAborted();
    return { slept: payload?.ms ?? 100 };
  },
};
