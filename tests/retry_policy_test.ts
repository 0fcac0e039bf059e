// Queue-level retries (backoff, task policies, retryFailed, bad policies) are in the conformance
// suite: tests/conformance/retries.ts. What stays here is how the Worker picks a delay.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  PermanentError,
  RetryableError,
  retryDelay,
  type Task,
  TaskStatus,
  Worker,
} from "../mod.ts";
import { memoryQueue } from "./_helpers.ts";

/** Fails a task once through a worker and returns the delay it got. */
async function delayAfterOneFailure(
  options: { handlerRetry?: ConstructorParameters<typeof Worker>[1]["handlers"][string] },
  enqueue: Record<string, unknown> = {},
  error: unknown = new Error("boom"),
): Promise<number> {
  const { queue, clock } = await memoryQueue();
  const id = await queue.enqueue({ name: "n", taskType: "t", ...enqueue });
  const handler = () => {
    throw error;
  };
  const entry = options.handlerRetry ?? handler;
  const worker = new Worker(queue, {
    handlers: { t: typeof entry === "function" ? entry : { ...entry, handler } },
  });
  await worker.tick();
  const task = (await queue.getTask(id))!;
  await queue.close();
  assert.equal(task.status, TaskStatus.PENDING);
  return task.scheduledAt - clock.now;
}

describe("retry policies", () => {
  test("the queue's backoff applies by default", async () => {
    assert.equal(await delayAfterOneFailure({}), 1000);
  });

  test("a fixed policy per task type", async () => {
    const delay = await delayAfterOneFailure({
      handlerRetry: { handler: () => {}, retry: { type: "fixed", delayMs: 250 } },
    });
    assert.equal(delay, 250);
  });

  test("an exponential policy per task type grows with the attempts", async () => {
    const policy = { type: "exponential", baseMs: 100, factor: 3, jitter: 0 } as const;
    assert.deepEqual([1, 2, 3].map((n) => retryDelay(policy, n)), [100, 300, 900]);
    const delay = await delayAfterOneFailure({
      handlerRetry: { handler: () => {}, retry: policy },
    });
    assert.equal(delay, 100);
  });

  test("a custom function per task type sees the attempt count, the error and the task", async () => {
    const calls: [number, string, string][] = [];
    const delay = await delayAfterOneFailure({
      handlerRetry: {
        handler: () => {},
        retry: (retryCount, error, task) => {
          calls.push([retryCount, (error as Error).message, task.name]);
          return 4321;
        },
      },
    });
    assert.equal(delay, 4321);
    assert.deepEqual(calls, [[1, "boom", "n"]]);
  });

  test("a task's own policy wins over the type's", async () => {
    const delay = await delayAfterOneFailure(
      { handlerRetry: { handler: () => {}, retry: { type: "fixed", delayMs: 250 } } },
      { retry: { type: "fixed", delayMs: 7 } },
    );
    assert.equal(delay, 7);
  });

  test("RetryableError chooses the delay", async () => {
    const delay = await delayAfterOneFailure(
      { handlerRetry: { handler: () => {}, retry: { type: "fixed", delayMs: 250 } } },
      {},
      new RetryableError("429", { delayMs: 60_000 }),
    );
    assert.equal(delay, 60_000);
  });

  test("PermanentError skips the remaining retries", async () => {
    const { queue } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 10 });
    const worker = new Worker(queue, {
      handlers: {
        t: () => {
          throw new PermanentError("no email address");
        },
      },
    });
    await worker.tick();
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.equal(task.error, "no email address");
    await queue.close();
  });
});

describe("dead letters", () => {
  test("spent retries end FAILED with every attempt's error and time; onDeadLetter and `dead` fire", async () => {
    const { queue, clock } = await memoryQueue();
    const id = await queue.enqueue({ name: "n", taskType: "t", maxRetries: 2 });
    const dead: Task[] = [];
    const deadEvents: string[] = [];
    queue.on("dead", ({ task, error }) => deadEvents.push(`${task.id}: ${error}`));
    let attempt = 0;
    const worker = new Worker(queue, {
      handlers: {
        t: {
          retry: { type: "fixed", delayMs: 100 },
          handler: () => {
            throw new Error(`failure ${++attempt}`);
          },
        },
      },
      onDeadLetter: (task) => void dead.push(task),
    });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      times.push(clock.now);
      await worker.tick();
      clock.advance(100);
    }
    const task = (await queue.getTask(id))!;
    assert.equal(task.status, TaskStatus.FAILED);
    assert.deepEqual(task.errors, [
      { attempt: 1, error: "failure 1", at: times[0] },
      { attempt: 2, error: "failure 2", at: times[1] },
      { attempt: 3, error: "failure 3", at: times[2] },
    ]);
    assert.deepEqual(dead.map((t) => t.id), [id]);
    assert.deepEqual(deadEvents, [`${id}: failure 3`]);
    await queue.close();
  });
});
