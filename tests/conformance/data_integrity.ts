/**
 * Conformance: data integrity. Text is stored exactly or refused up front, naming the field
 * (SQLite bindings turn a lone surrogate into U+FFFD and node:sqlite cuts text at a NUL); JSON
 * keeps every string exactly; a failure message is escaped visibly, never refused. A row whose
 * stored JSON does not parse (written behind the queue's back) fails alone, with the reason:
 * claims, lists, cancel, redrive and prune go on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type TaskQueue, TaskStatus, ValidationError } from "../../mod.ts";
import type { Suite } from "./_harness.ts";

/** Everything a reader can see of a queue, to compare before and after a refused call. */
async function snapshot(queue: TaskQueue): Promise<unknown> {
  const statuses = ["pending", "running", "completed", "failed", "cancelled"] as const;
  return {
    stats: await queue.getQueueStats(),
    tasks: await Promise.all(statuses.map((s) => queue.getTasksByStatus(s, 1000))),
    controls: await queue.getControls(),
    schedules: await queue.getSchedules(),
  };
}

/** Asserts that `call` rejects with a ValidationError explained by `message`. */
async function refuses(call: () => Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(call(), (error: unknown) => {
    assert.ok(error instanceof ValidationError, `${error} is a ValidationError`);
    assert.match(error.message, message);
    return true;
  });
}

const LONE = "\ud800";
const SURROGATE = /must be well-formed Unicode/;
const NUL = /must not contain a NUL character/;

/** Strings that JSON keeps exactly, and a TEXT column would not. */
const AWKWARD = {
  lone: `a${LONE}b`,
  low: "\udc00",
  nul: "a\0b",
  both: `\0${LONE}\udfff`,
  pair: "😀 é ✓",
  [`key${LONE}`]: "\0",
};

/** Registers the data integrity cases. */
export function dataIntegrity(suite: Suite): void {
  suite.test("text a TEXT column would alter is refused, naming the field; nothing is stored", async (h) => {
    const queue = await h.open();
    await queue.enqueue({ name: "existing", taskType: "t", uniqueKey: "k" });
    const before = await snapshot(queue);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ name: `n${LONE}`, taskType: "t" }, /name must be well-formed Unicode/],
      [{ name: "n\0cut", taskType: "t" }, /name must not contain a NUL character/],
      [{ name: "n", taskType: "\udc00t" }, /taskType must be well-formed Unicode/],
      [{ name: "n", taskType: "t\0" }, /taskType must not contain a NUL character/],
      [{ name: "n", taskType: "t", uniqueKey: `k${LONE}` }, /uniqueKey must be well-formed/],
      [{ name: "n", taskType: "t", uniqueKey: "k\0" }, /uniqueKey must not contain a NUL/],
    ];
    for (const [options, message] of bad) {
      await refuses(() => queue.enqueue(options as never), message);
      await refuses(
        () => queue.enqueueMany([{ name: "ok", taskType: "t" }, options as never]),
        message,
      );
    }
    await refuses(() => queue.dequeue({ workerId: `w${LONE}` }), /workerId must be well-formed/);
    await refuses(() => queue.dequeue({ taskTypes: ["t\0"] }), /taskTypes\.0 must not contain/);
    await refuses(() => queue.pause(`t${LONE}`), SURROGATE);
    await refuses(() => queue.setLimits("t\0", { concurrency: 1 }), NUL);
    await refuses(() => queue.schedule(`s${LONE}`, "* * * * *", { taskType: "t" }), SURROGATE);
    await refuses(() => queue.schedule("s", "* * * * *", { taskType: "t\0" }), NUL);
    await refuses(() => queue.schedule("s", "* * * * *\0", { taskType: "t" }), NUL);
    await refuses(() => queue.getTasksByStatus("pending", 10, 0, { search: LONE }), SURROGATE);
    assert.deepEqual(await snapshot(queue), before);
  });

  suite.test("two unique keys that differ only in lone surrogates never share a task", async (h) => {
    const queue = await h.open();
    // Both would be stored as "k\ufffd": the second enqueue would return the first one's id.
    await refuses(
      () => queue.enqueue({ name: "a", taskType: "t", uniqueKey: "k\ud800" }),
      SURROGATE,
    );
    await refuses(
      () => queue.enqueue({ name: "b", taskType: "t", uniqueKey: "k\udbff" }),
      SURROGATE,
    );
    const pair = await queue.enqueue({ name: "c", taskType: "t", uniqueKey: "k\ud83d\ude00" });
    const other = await queue.enqueue({ name: "d", taskType: "t", uniqueKey: "k\ud83d\ude01" });
    assert.notEqual(pair, other, "well-formed keys are distinct");
    assert.equal((await queue.getTask(pair))!.uniqueKey, "k😀");
    assert.equal(await queue.enqueue({ name: "e", taskType: "t", uniqueKey: "k😀" }), pair);
  });

  suite.test("well-formed text, and JSON strings of any kind, are stored exactly", async (h) => {
    const queue = await h.open();
    const id = await queue.enqueue({
      name: "Résumé 😀 ✓",
      taskType: "type 𝔘",
      uniqueKey: "キー",
      payload: AWKWARD,
    });
    const stored = (await queue.getTask(id))!;
    assert.equal(stored.name, "Résumé 😀 ✓");
    assert.equal(stored.taskType, "type 𝔘");
    assert.equal(stored.uniqueKey, "キー");
    assert.deepEqual(stored.payload, AWKWARD);
    const task = (await queue.dequeue())!;
    assert.deepEqual(task.payload, AWKWARD, "claimed as enqueued");
    await queue.progress(task, { at: AWKWARD.both });
    assert.deepEqual((await queue.getTask(id))!.progress, { at: AWKWARD.both });
    await queue.completeTask(task, [AWKWARD, "\0"]);
    assert.deepEqual((await queue.getTask(id))!.result, [AWKWARD, "\0"]);

    // A batch of completions (one statement) keeps them too.
    await queue.enqueueMany([{ name: "a", taskType: "t" }, { name: "b", taskType: "t" }]);
    const [a, b] = await queue.dequeueMany(2);
    await queue.completeMany([{ task: a!, result: AWKWARD.nul }, { task: b!, result: AWKWARD }]);
    assert.equal((await queue.getTask(a!.id))!.result, AWKWARD.nul);
    assert.deepEqual((await queue.getTask(b!.id))!.result, AWKWARD);
  });

  suite.test("a failure message is recorded with NUL and lone surrogates escaped visibly", async (h) => {
    const queue = await h.open();
    await queue.enqueueMany([
      { name: "a", taskType: "t", maxRetries: 0 },
      { name: "b", taskType: "t", maxRetries: 0 },
    ]);
    const [a, b] = await queue.dequeueMany(2);
    const failed = await queue.failTask(a!, `disk\0full ${LONE} 😀`);
    assert.equal(failed.status, TaskStatus.FAILED);
    assert.equal(failed.error, "disk\\u0000full \\ud800 😀");
    const thrown = await queue.failTask(b!, new Error("\udc00\0"));
    assert.equal(thrown.error, "\\udc00\\u0000");
    const stored = (await queue.getTask(b!.id))!;
    assert.equal(stored.error, "\\udc00\\u0000");
    assert.deepEqual(stored.errors.map((e) => e.error), ["\\udc00\\u0000"]);
  });

  suite.test("a row whose JSON does not parse fails alone; claims take the others", async (h) => {
    const queue = await h.open();
    const [bad, good, worse, last] = await queue.enqueueMany(
      ["bad", "good", "worse", "last"].map((name) => ({ name, taskType: "t", maxRetries: 5 })),
    );
    await h.writeRaw(
      queue,
      `UPDATE tasks SET payload = '{not json' WHERE id = ${bad};
       UPDATE tasks SET errors = 'oops', retry_policy = '[' WHERE id = ${worse};`,
    );

    // Reads decode what they can: the bad column is null, the row is listed.
    const pending = await queue.getTasksByStatus(TaskStatus.PENDING);
    assert.deepEqual(pending.map((task) => task.id).sort(), [bad, good, worse, last]);
    assert.equal((await queue.getTask(bad!))!.payload, null);

    // The first due task cannot be decoded: it is failed for good, and the claim takes the next.
    const first = await queue.dequeue();
    assert.equal(first?.id, good);
    const failed = (await queue.getTask(bad!))!;
    assert.equal(failed.status, TaskStatus.FAILED);
    assert.equal(failed.error, `Cannot decode task ${bad}: payload is not valid JSON`);
    assert.deepEqual(failed.errors, [{ attempt: 1, error: failed.error, at: h.clock.now }]);
    assert.equal(failed.completedAt, h.clock.now);
    assert.equal(failed.leaseExpiresAt, null);

    const rest = await queue.dequeueMany(10);
    assert.deepEqual(rest.map((task) => task.id), [last]);
    const worst = (await queue.getTask(worse!))!;
    assert.equal(worst.status, TaskStatus.FAILED);
    assert.equal(
      worst.error,
      `Cannot decode task ${worse}: retry_policy and errors are not valid JSON`,
    );
    assert.equal(worst.retryPolicy, null);
    assert.deepEqual(worst.errors.map((e) => e.error), [worst.error], "a new history");

    assert.deepEqual(await queue.getQueueStats(), {
      pending: 0,
      running: 2,
      completed: 0,
      failed: 2,
      cancelled: 0,
    });
    const listed = await queue.getTasksByStatus(TaskStatus.FAILED);
    assert.deepEqual(listed.map((task) => task.id).sort(), [bad, worse]);

    // A redrive puts it back; the next claim fails it again, and it stays out of the way.
    assert.equal((await queue.retryTask(bad!)).status, TaskStatus.PENDING);
    assert.equal(await queue.dequeue(), null);
    assert.equal((await queue.getTask(bad!))!.errors.length, 2);

    h.clock.advance(1);
    assert.equal(await queue.prune({ olderThanMs: 0, statuses: ["failed"] }), 2);
    assert.equal(await queue.getTask(bad!), null);
    assert.equal(await queue.getTask(worse!), null);
    assert.equal((await queue.getQueueStats()).failed, 0);
    await queue.completeTask(first!);
  }, { needs: "writeRaw" });

  suite.test("rows whose JSON does not parse can be cancelled, listed and pruned", async (h) => {
    const queue = await h.open();
    const [waiting, done] = await queue.enqueueMany([
      { name: "waiting", taskType: "t", scheduledAt: h.clock.now + 60_000 },
      { name: "done", taskType: "t" },
    ]);
    await queue.completeTask((await queue.dequeue())!, { ok: true });
    await h.writeRaw(
      queue,
      `UPDATE tasks SET payload = 'nope', progress = '{' WHERE id = ${waiting};
       UPDATE tasks SET result = '[1,' WHERE id = ${done};`,
    );
    const cancelled = await queue.cancelTask(waiting!);
    assert.equal(cancelled.status, TaskStatus.CANCELLED);
    assert.equal(cancelled.payload, null);
    assert.equal(cancelled.progress, null);
    const [completed] = await queue.getTasksByStatus(TaskStatus.COMPLETED);
    assert.equal(completed?.id, done);
    assert.equal(completed?.result, null);
    h.clock.advance(1);
    assert.equal(await queue.prune({ olderThanMs: 0 }), 2);
    assert.deepEqual(await queue.getQueueStats(), {
      pending: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
  }, { needs: "writeRaw" });

  suite.test(
    "a running task whose stored JSON goes bad still heartbeats, fails and recovers",
    async (h) => {
      const queue = await h.open({ leaseMs: 1000 });
      const [a, b] = await queue.enqueueMany([
        { name: "a", taskType: "t", maxRetries: 3 },
        { name: "b", taskType: "t", maxRetries: 3 },
      ]);
      const [first, second] = await queue.dequeueMany(2);
      await h.writeRaw(
        queue,
        `UPDATE tasks SET errors = 'x' WHERE id IN (${a}, ${b});
         UPDATE tasks SET progress = '{' WHERE id = ${a};`,
      );
      const beat = await queue.heartbeat(first!);
      assert.equal(beat.progress, null);
      const failed = await queue.failTask(first!, "down");
      assert.equal(failed.status, TaskStatus.PENDING);
      assert.deepEqual(failed.errors.map((e) => e.error), ["down"], "a new history");

      // The other one's lease runs out: recovery records it, and claims go on. The first one,
      // due again, still cannot be decoded (its progress): the claim fails it for good.
      h.clock.advance(60_000);
      const claimed = await queue.dequeueMany(10);
      assert.deepEqual(claimed.map((task) => task.id), [b]);
      assert.equal(second!.id, b);
      assert.deepEqual(claimed[0]!.errors.map((e) => e.attempt), [1]);
      assert.match(claimed[0]!.errors[0]!.error, /Lease expired/);
      const poisoned = (await queue.getTask(a!))!;
      assert.equal(poisoned.status, TaskStatus.FAILED);
      assert.equal(poisoned.error, `Cannot decode task ${a}: progress is not valid JSON`);
      assert.deepEqual(poisoned.errors.map((e) => e.error), ["down", poisoned.error]);
    },
    { needs: "writeRaw" },
  );
}
