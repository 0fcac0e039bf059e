// Schedules themselves (slots, time zones, downtime, restarts, races) are in the conformance
// suite: tests/conformance/schedules.ts. What stays here is the Worker's part.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskStatus, Worker } from "../mod.ts";
import { FakeClock, memoryQueue } from "./_helpers.ts";

const at = (iso: string) => Date.parse(iso);

describe("recurring schedules and workers", () => {
  test("a worker's tick() runs due schedules, then their tasks", async () => {
    const clock = new FakeClock(at("2026-03-01T00:00:00Z"));
    const { queue } = await memoryQueue({ clock: clock.fn });
    await queue.schedule("report", "0 * * * *", { taskType: "report" });
    const worker = new Worker(queue, { handlers: { report: () => "sent" } });
    assert.equal(await worker.tick(), 0);
    clock.now = at("2026-03-01T01:00:00Z");
    assert.equal(await worker.tick(), 1);
    const [done] = await queue.getTasksByStatus(TaskStatus.COMPLETED);
    assert.equal(done!.result, "sent");
    await queue.close();
  });
});
