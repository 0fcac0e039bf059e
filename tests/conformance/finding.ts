/**
 * Conformance: finding tasks (filters by search, type, priority and due time, sorting) and the
 * dashboard's actions on what was found (cancel every matching pending task, promote a scheduled
 * task, run or pause a schedule).
 *
 * @module
 */

import assert from "node:assert/strict";
import { TaskNotFoundError, TaskPriority, TaskStateError, ValidationError } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

const HOUR = 3_600_000;

/** Registers the finding and action cases. */
export function finding(suite: Suite): void {
  suite.test("lists filter by search (id, name, type, payload), type and priority", async (h) => {
    const queue = await h.open();
    const [a, b, c, d] = await queue.enqueueMany([
      { name: "Send welcome", taskType: "email", payload: { to: "ada@example.com" } },
      { name: "Resize", taskType: "image", payload: { file: "cat.png" }, priority: 4 },
      { name: "Invoice", taskType: "billing", payload: { customer: "ADA Corp" } },
      { name: "50% off", taskType: "email", priority: 4 },
    ]);
    const names = async (options: Parameters<typeof queue.getTasksByStatus>[3]) =>
      (await queue.getTasksByStatus("pending", 100, 0, options)).map((t) => t.id);
    assert.deepEqual(await names({ search: "ada" }), [a, c], "payload text, any case");
    assert.deepEqual(await names({ search: String(b) }), [b], "an id");
    assert.deepEqual(await names({ search: "50%" }), [d], "% is literal");
    assert.deepEqual(await names({ taskType: "email" }), [d, a], "claim order");
    assert.deepEqual(await names({ priority: TaskPriority.CRITICAL }), [b, d]);
    assert.deepEqual(await names({ taskType: "email", priority: TaskPriority.CRITICAL }), [d]);
    assert.deepEqual(await names({ taskType: "nope" }), []);
  });

  suite.test("pending splits into ready (claim order) and scheduled (soonest due)", async (h) => {
    const queue = await h.open();
    const now = h.clock.now;
    const [late, soon, ready, urgent] = await queue.enqueueMany([
      { name: "late", taskType: "t", scheduledAt: now + 2 * HOUR, priority: 4 },
      { name: "soon", taskType: "t", scheduledAt: now + HOUR },
      { name: "ready", taskType: "t" },
      { name: "urgent", taskType: "t", priority: 4 },
    ]);
    const ids = async (due: "ready" | "scheduled") =>
      (await queue.getTasksByStatus("pending", 100, 0, { due })).map((t) => t.id);
    assert.deepEqual(await ids("ready"), [urgent, ready]);
    assert.deepEqual(await ids("scheduled"), [soon, late]);
    h.clock.advance(HOUR);
    assert.deepEqual(await ids("ready"), [urgent, ready, soon]);
  });

  suite.test("lists sort by a column, either way, ties by id", async (h) => {
    const queue = await h.open();
    const [x, y, z] = await queue.enqueueMany([
      { name: "b", taskType: "t", priority: 1 },
      { name: "a", taskType: "u", priority: 3 },
      { name: "c", taskType: "t", priority: 3 },
    ]);
    const ids = async (by: "name" | "priority" | "taskType" | "id", descending: boolean) =>
      (await queue.getTasksByStatus("pending", 10, 0, { sort: { by, descending } })).map((t) =>
        t.id
      );
    assert.deepEqual(await ids("name", false), [y, x, z]);
    assert.deepEqual(await ids("name", true), [z, x, y]);
    assert.deepEqual(await ids("priority", false), [x, y, z]);
    assert.deepEqual(await ids("taskType", true), [y, z, x]);
    assert.deepEqual(await ids("id", true), [z, y, x]);
    const page = await queue.getTasksByStatus("pending", 1, 1, {
      sort: { by: "name", descending: false },
    });
    assert.deepEqual(page.map((t) => t.id), [x]);
  });

  suite.test("cancelPending cancels the matching pending tasks only", async (h) => {
    const queue = await h.open();
    const [a, b, c] = await queue.enqueueMany([
      { name: "a", taskType: "email" },
      { name: "b", taskType: "email", scheduledAt: h.clock.now + HOUR },
      { name: "c", taskType: "sms" },
    ]);
    const running = await queue.enqueue({ name: "r", taskType: "email" });
    await queue.dequeue({ taskTypes: ["email"] }); // a runs
    const cancelled = await queue.cancelPending({ taskType: "email", due: "scheduled" });
    assert.deepEqual(cancelled.map((t) => [t.id, t.status]), [[b, "cancelled"]]);
    assert.deepEqual((await queue.cancelPending({ taskType: "email" })).map((t) => t.id), [
      running,
    ]);
    assert.equal((await queue.getTask(a!))?.status, "running");
    assert.equal((await queue.getTask(c!))?.status, "pending");
    assert.deepEqual(await queue.cancelPending({ taskType: "email" }), []);
    await assert.rejects(queue.cancelPending({ limit: 0 }), ValidationError);
    await assert.rejects(
      queue.cancelPending({ sort: { by: "id", descending: false } } as never),
      ValidationError,
    );
    assert.equal((await queue.getTask(c!))?.status, "pending", "bad input changes nothing");
  });

  suite.test("promoteTask makes a scheduled task due now; refuses others", async (h) => {
    const queue = await h.open();
    const later = await queue.enqueue({
      name: "later",
      taskType: "t",
      scheduledAt: h.clock.now + HOUR,
    });
    assert.equal(await queue.dequeue(), null);
    const promoted = await queue.promoteTask(later);
    assert.equal(promoted.scheduledAt, h.clock.now);
    await assert.rejects(queue.promoteTask(later), TaskStateError, "due already");
    assert.equal((await queue.dequeue())?.id, later);
    await assert.rejects(queue.promoteTask(later), TaskStateError, "running");
    await assert.rejects(queue.promoteTask(999_999), TaskNotFoundError);
    await assert.rejects(queue.promoteTask(-1), ValidationError);
  });

  suite.test("a schedule runs now without moving its slot, and pauses and resumes", async (h) => {
    const queue = await h.open();
    const before = await queue.schedule("nightly", "0 3 * * *", {
      taskType: "report",
      payload: { kind: "daily" },
    });
    const id = await queue.runSchedule("nightly");
    const task = (await queue.getTask(id!))!;
    assert.deepEqual([task.taskType, task.payload, task.status], [
      "report",
      { kind: "daily" },
      "pending",
    ]);
    const [after] = await queue.getSchedules();
    assert.equal(after!.nextRunAt, before.nextRunAt);
    assert.equal(after!.lastRunAt, null);
    assert.equal((await queue.pauseSchedule("nightly"))?.paused, true);
    assert.equal((await queue.getSchedules())[0]!.paused, true);
    assert.equal((await queue.pauseSchedule("nightly", false))?.paused, false);
    assert.equal(await queue.runSchedule("missing"), null);
    assert.equal(await queue.pauseSchedule("missing"), null);
    await assert.rejects(queue.runSchedule(""), ValidationError);
  });
}
