import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { type Task, TaskQueue, Worker, type WorkerQueue } from "../mod.ts";
import { createQueueApp } from "../hono.ts";
import { LocalNotifier, type NotifyListener } from "../src/notifier.ts";
import { newRun, type Run } from "../src/worker/_run.ts";
import { RunTimers } from "../src/worker/_timers.ts";
import { FakeClock, fakeTimeQueue, settle } from "./_helpers.ts";

/** A notifier that counts its listeners. */
class CountingNotifier extends LocalNotifier {
  listeners = 0;
  override listen(listener: NotifyListener): () => void {
    this.listeners++;
    const unlisten = super.listen(listener);
    return () => {
      this.listeners--;
      unlisten();
    };
  }
}

/** The queue as a WorkerQueue that counts claims. */
function counting(queue: TaskQueue): { queue: WorkerQueue; claims: () => number } {
  let claims = 0;
  return {
    claims: () => claims,
    queue: {
      logger: queue.logger,
      clock: queue.clock,
      notifier: queue.notifier,
      dequeueMany: (limit, options) => {
        claims++;
        return queue.dequeueMany(limit, options);
      },
      heartbeat: (task) => queue.heartbeat(task),
      progress: (task, value) => queue.progress(task, value),
      completeTask: (task, result) => queue.completeTask(task, result),
      failTask: (task, error, options) => queue.failTask(task, error, options),
      release: (task) => queue.release(task),
      cancelRequested: (ids) => queue.cancelRequested(ids),
      maintain: () => queue.maintain(),
    },
  };
}

describe("waking idle workers", () => {
  test("an idle worker starts a newly enqueued task at once, not at its next poll", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const started: string[] = [];
    const worker = new Worker(queue, {
      pollIntervalMs: 60_000,
      handlers: { t: (_payload, ctx) => void started.push(ctx.task.name) },
    });
    worker.start();
    await worker.onIdle();
    await clock.sleeping(); // in its 60 s poll sleep, on a clock that never moves
    const before = clock.now;
    await queue.enqueue({ name: "now", taskType: "t" });
    await settle();
    assert.deepEqual(started, ["now"]);
    assert.equal(clock.now, before, "no time passed");
    await worker.stop();
    await queue.close();
  });

  test("it wakes for its own task types only, and only with a free slot", async () => {
    const { queue: inner, clock } = await fakeTimeQueue();
    const { queue, claims } = counting(inner);
    const gate = Promise.withResolvers<void>();
    const ran: string[] = [];
    const worker = new Worker(queue, {
      pollIntervalMs: 60_000,
      handlers: {
        a: async (_payload, ctx) => {
          ran.push(ctx.task.name);
          if (ctx.task.name === "first") await gate.promise;
        },
      },
    });
    worker.start();
    await worker.onIdle();
    await clock.sleeping();
    let before = claims();
    await inner.enqueue({ name: "other", taskType: "b" });
    await settle();
    assert.equal(claims(), before, "a task of another type does not wake it");

    await inner.enqueue({ name: "first", taskType: "a" });
    await settle();
    assert.deepEqual(ran, ["first"]);
    before = claims();
    await inner.enqueue({ name: "second", taskType: "a" });
    await settle();
    assert.equal(claims(), before, "a full worker is not woken");
    assert.deepEqual(ran, ["first"]);
    gate.resolve();
    await settle();
    assert.deepEqual(ran, ["first", "second"], "the freed slot claims at once");
    await worker.stop();
    await inner.close();
  });

  test('a worker claiming "*" wakes for any type; stop() unsubscribes', async () => {
    const clock = new FakeClock();
    const notifier = new CountingNotifier();
    const queue = await TaskQueue.open(":memory:", { clock: clock.clock, notifier });
    const ran: string[] = [];
    const worker = new Worker(queue, {
      pollIntervalMs: 60_000,
      taskTypes: "*",
      handlers: { x: (_payload, ctx) => void ran.push(ctx.task.name) },
    });
    assert.equal(notifier.listeners, 0, "a worker that is not started does not listen");
    worker.start();
    assert.equal(notifier.listeners, 1);
    await worker.onIdle();
    await clock.sleeping();
    await queue.enqueue({ name: "x", taskType: "x" });
    await settle();
    assert.deepEqual(ran, ["x"]);
    const y = await queue.enqueue({ name: "y", taskType: "y" });
    await settle();
    assert.equal((await queue.getTask(y))!.status, "failed", "claimed at once (and no handler)");
    await worker.stop();
    assert.equal(notifier.listeners, 0);
    await queue.close();
  });

  test("a released task wakes another idle worker of the same queue", async () => {
    const { queue, clock } = await fakeTimeQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t" });
    const claimed = (await queue.dequeue({ workerId: "leaving" }))!;
    const ran: Task[] = [];
    const worker = new Worker(queue, {
      pollIntervalMs: 60_000,
      handlers: { t: (_payload, ctx) => void ran.push(ctx.task) },
    });
    worker.start();
    await worker.onIdle();
    await clock.sleeping();
    await queue.release(claimed);
    await settle();
    assert.deepEqual(ran.map((task) => [task.id, task.attempts]), [[id, 2]]);
    await worker.stop();
    await queue.close();
  });
});

describe("the HTTP long poll", () => {
  async function served() {
    const clock = new FakeClock();
    const queue = await TaskQueue.open(":memory:", { clock: clock.clock });
    const app = new Hono().route("/queue", createQueueApp(queue));
    let answered = false;
    const claim = (body: unknown) =>
      Promise.resolve(app.request("/queue/worker/claim", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })).then(async (response) => {
        answered = true;
        return (await response.json()) as { tasks: Task[] };
      });
    return { clock, queue, claim, answered: () => answered };
  }

  test("answers as soon as a task of its types is enqueued, with no time passing", async () => {
    const { clock, queue, claim, answered } = await served();
    const before = clock.now;
    const answer = claim({ waitMs: 10_000, taskTypes: ["a"] });
    await clock.sleeping(); // long-polling
    await queue.enqueue({ name: "other", taskType: "b" });
    await settle();
    assert.equal(answered(), false, "a task of another type does not answer it");
    await queue.enqueue({ name: "mine", taskType: "a" });
    const { tasks } = await answer;
    assert.deepEqual(tasks.map((task) => task.name), ["mine"]);
    assert.equal(clock.now, before);
    await queue.close();
  });

  test("answers empty after waitMs on the queue's clock, re-claiming every second", async () => {
    const { clock, queue, claim, answered } = await served();
    const answer = claim({ waitMs: 3_000 });
    await clock.tick(2_999);
    assert.equal(answered(), false);
    const due = clock.now + 5_000;
    await queue.enqueue({ name: "due later", taskType: "t", scheduledAt: due });
    await clock.tick(1);
    assert.deepEqual((await answer).tasks, []);
    // A task that becomes due while polling (no notification) is found by the next re-claim.
    const second = claim({ waitMs: 30_000 });
    const names: string[] = [];
    void second.then((body) => names.push(...body.tasks.map((task) => task.name)));
    await clock.tick(due - clock.now);
    assert.deepEqual(names, [], "due now, not yet claimed");
    await clock.tick(1_000);
    assert.deepEqual(names, ["due later"]);
    await queue.close();
  });
});

describe("the timer loop of a worker's runs", () => {
  const run = (id: number, every: number, timeoutMs?: number): Run =>
    newRun({ id, leaseMs: null, timeoutMs: timeoutMs ?? null } as Task, undefined, every);

  function timers(clock: FakeClock) {
    const runs = new Map<number, Run>();
    const beats = new Map<number, number[]>();
    const timeouts: [number, number][] = [];
    const loop = new RunTimers(clock.clock, runs, {
      beat: (r) => {
        r.untilBeat = r.every;
        beats.get(r.task.id)!.push(clock.now);
      },
      timeout: (r) => {
        r.over = true; // as the worker does once the abort wins the race
        timeouts.push([r.task.id, clock.now]);
      },
    });
    const add = (r: Run) => {
      runs.set(r.task.id, r);
      beats.set(r.task.id, [clock.now]);
      loop.add(r);
    };
    return { runs, beats, timeouts, loop, add };
  }

  test("one loop beats every run within its own interval, and stops with the last run", async () => {
    const clock = new FakeClock();
    const { runs, beats, loop, add } = timers(clock);
    add(run(2, 35));
    assert.deepEqual(clock.timers, [35], "one timer");
    await clock.tick(5);
    add(run(1, 10)); // due sooner: the loop wakes sooner
    await settle();
    assert.deepEqual(clock.timers, [10]);
    await clock.tick(200);
    for (const [id, every] of [[1, 10], [2, 35]] as const) {
      const times = [...beats.get(id)!, clock.now];
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      assert.ok(gaps.every((gap) => gap <= every), `run ${id} gaps ${gaps} within ${every}`);
    }
    assert.ok(beats.get(2)!.length < beats.get(1)!.length, "the slower run beats less often");
    runs.clear();
    loop.halt();
    await settle();
    assert.equal(clock.pending, 0, "no timer outlives the runs");
  });

  test("a timeout fires at its time, never early, however runs come and go", async () => {
    const clock = new FakeClock();
    const start = clock.now;
    const { runs, timeouts, add } = timers(clock);
    add(run(1, 10_000, 50));
    await clock.tick(7);
    add(run(2, 10_000, 20)); // due at 27, before the loop's wake at 50
    await clock.tick(3);
    add(run(3, 10_000, 100)); // due at 110
    add(run(4, 10_000, 30)); // due at 40, but it ends at 35: no timeout for it
    await clock.tick(25);
    runs.delete(4);
    await clock.tick(200);
    assert.deepEqual(timeouts.map(([id, at]) => [id, at - start]), [[2, 27], [1, 50], [3, 110]]);
    assert.equal(clock.pending, 0, "the loop ends when nothing is due");
  });

  test("on a clock whose now() stands still, whole sleeps still count", async () => {
    const clock = new FakeClock();
    const frozen = { now: () => 0, sleep: clock.clock.sleep };
    const runs = new Map<number, Run>();
    const timeouts: number[] = [];
    const loop = new RunTimers(frozen, runs, {
      beat: (r) => void (r.untilBeat = r.every),
      timeout: (r) => void timeouts.push(r.task.id),
    });
    const r = run(1, 1_000_000, 30);
    runs.set(1, r);
    loop.add(r);
    await clock.tick(29);
    assert.deepEqual(timeouts, []);
    await clock.tick(1);
    assert.deepEqual(timeouts, [1]);
  });
});
