/**
 * Conformance: clocks. Every process on a file writes its own time into shared rows, so the queue
 * warns (its logger, and a `clock_skew` event), once per incident, when its wall clock jumps
 * against the clock's monotonic time, and when its clock is behind the newest time the file's
 * other writers recorded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Clock, type Logger, type QueueEvents, ValidationError } from "../../mod.ts";
import type { Harness, Suite } from "./_harness.ts";

type Skew = QueueEvents["clock_skew"];

/** A logger that keeps its warnings. */
function warnings(): { logger: Logger; warned: Record<string, unknown>[] } {
  const warned: Record<string, unknown>[] = [];
  const ignore = () => {};
  return {
    warned,
    logger: {
      debug: ignore,
      info: ignore,
      error: ignore,
      warn: (_, fields) => warned.push(fields!),
    },
  };
}

/** The test's clock with a monotonic time that the test moves apart from it. */
function monotonicClock(h: Harness): { clock: Clock; steady(ms: number): void } {
  let monotonic = 0;
  return {
    clock: { now: () => h.clock.now, sleep: (ms) => h.clock.sleep(ms), monotonic: () => monotonic },
    steady(ms) {
      h.clock.advance(ms);
      monotonic += ms;
    },
  };
}

/** Registers the clock cases. */
export function clocks(suite: Suite): void {
  suite.test("a wall clock jump is reported once per incident, as a warning and an event", async (h) => {
    const { clock, steady } = monotonicClock(h);
    const { logger, warned } = warnings();
    const queue = await h.open({ clock, logger });
    const events: Skew[] = [];
    queue.on("clock_skew", (event) => void events.push(event));
    steady(3_600_000); // an hour of steady time is no jump
    await queue.enqueue({ name: "a", taskType: "t" });
    h.clock.advance(59_000); // within the tolerance
    await queue.enqueue({ name: "b", taskType: "t" });
    assert.equal(events.length, 0);
    h.clock.advance(3_600_000); // the wall clock jumps an hour ahead
    await queue.enqueue({ name: "c", taskType: "t" });
    steady(1000);
    await queue.enqueue({ name: "d", taskType: "t" });
    assert.deepEqual(events, [{ kind: "jump", offsetMs: 3_600_000, toleranceMs: 60_000 }]);
    h.clock.advance(-3_600_000); // and back: a second incident
    await queue.getQueueStats();
    await queue.enqueue({ name: "e", taskType: "t" });
    assert.deepEqual(events.map((event) => event.offsetMs), [3_600_000, -3_600_000]);
    assert.deepEqual(warned, events, "each one logged as a warning too");
  });

  suite.test("clockToleranceMs sets how far clocks may disagree; a bad one is refused", async (h) => {
    const { clock } = monotonicClock(h);
    const queue = await h.open({ clock, clockToleranceMs: 1000 });
    const events: Skew[] = [];
    queue.on("clock_skew", (event) => void events.push(event));
    h.clock.advance(1500);
    await queue.enqueue({ name: "a", taskType: "t" });
    assert.deepEqual(events, [{ kind: "jump", offsetMs: 1500, toleranceMs: 1000 }]);
    for (const bad of [0, -1, 1.5, Number.NaN, "60000", null]) {
      await assert.rejects(
        h.open({ clockToleranceMs: bad as number }),
        (error) => error instanceof ValidationError && /clockToleranceMs/.test(error.message),
      );
    }
  });

  suite.test(
    "a clock behind the file's other writers is reported at open and by maintain",
    async (h) => {
      let ahead = 0;
      const writer = await h.open({ clock: () => h.clock.now + ahead });
      await writer.enqueue({ name: "a", taskType: "t" });
      const { logger, warned } = warnings();
      const behind = await h.reopen(writer, { clock: () => h.clock.now - 7_200_000, logger });
      assert.deepEqual(warned, [{ kind: "behind", offsetMs: -7_200_000, toleranceMs: 60_000 }]);
      await behind.maintain();
      assert.equal(warned.length, 1, "once per incident");

      const events: Skew[] = [];
      const reader = await h.reopen(writer, { clock: h.clock.fn });
      reader.on("clock_skew", (event) => void events.push(event));
      await reader.maintain();
      assert.equal(events.length, 0, "clocks that agree");
      ahead = 3_600_000; // the writer's clock jumps ahead and writes a row
      await writer.enqueue({ name: "b", taskType: "t" });
      await reader.maintain();
      assert.equal(events.length, 0, "checked at most once a minute");
      h.clock.advance(60_000);
      await reader.maintain();
      assert.deepEqual(events, [{ kind: "behind", offsetMs: -3_540_000, toleranceMs: 60_000 }]);
      h.clock.advance(60_000);
      await reader.maintain();
      assert.equal(events.length, 1, "once per incident");
    },
    { needs: "reopen" },
  );
}
