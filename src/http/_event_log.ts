/**
 * A bounded log of a queue's recent events, for Server-Sent Events with resumable ids.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { QUEUE_EVENTS, type QueueEventName, type QueueEvents } from "../events.ts";
import type { TaskQueue } from "../queue.ts";
import type { Task } from "../task.ts";

/** What an event says of its task: enough to show it, without payload, result or history. */
export type TaskSummary = Pick<
  Task,
  "id" | "name" | "taskType" | "status" | "priority" | "attempts" | "retryCount" | "error"
>;

/** Events keep their own fields; a task becomes its summary (payloads can be megabytes). */
function summarize(payload: QueueEvents[QueueEventName]): Record<string, unknown> {
  if (!("task" in payload)) return payload;
  const { id, name, taskType, status, priority, attempts, retryCount, error } = payload.task;
  const task: TaskSummary = { id, name, taskType, status, priority, attempts, retryCount, error };
  return { ...payload, task };
}

/** One logged event. */
export interface LoggedEvent {
  /** `<boot>-<sequence>`: unique per process start, increasing. */
  id: string;
  /** The event name. */
  event: QueueEventName;
  /** The payload, as JSON. */
  data: string;
}

/** Keeps the last `capacity` events of a queue and wakes waiters on each new one. */
export class EventLog {
  readonly #boot = Date.now().toString(36);
  readonly #capacity: number;
  readonly #clock: Clock;
  readonly #events: (LoggedEvent & { seq: number })[] = [];
  #seq = 0;
  #waiters = new Set<() => void>();

  /**
   * Starts logging a queue's events.
   *
   * @param queue The queue (its events, and its clock for waits).
   * @param capacity How many recent events to keep for replay.
   */
  constructor(queue: TaskQueue, capacity = 1000) {
    this.#capacity = capacity;
    this.#clock = queue.clock;
    for (const event of QUEUE_EVENTS) {
      queue.on(event, (payload) => this.#push(event, JSON.stringify(summarize(payload))));
    }
  }

  #push(event: QueueEventName, data: string): void {
    const seq = ++this.#seq;
    this.#events.push({ id: `${this.#boot}-${seq}`, seq, event, data });
    if (this.#events.length > this.#capacity) this.#events.shift();
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const wake of waiters) wake();
  }

  /**
   * Events after `lastId` (all kept ones when it is unknown, from another boot, or `null`).
   *
   * @param lastId The last id the client saw.
   * @returns The events to send.
   */
  after(lastId: string | null): LoggedEvent[] {
    const [boot, seqText] = lastId?.split("-") ?? [];
    const seq = boot === this.#boot ? Number(seqText) : 0;
    return this.#events.filter((e) => e.seq > seq).map(({ id, event, data }) => ({
      id,
      event,
      data,
    }));
  }

  /** The id of the newest event, or `null`. */
  get lastId(): string | null {
    return this.#events.at(-1)?.id ?? null;
  }

  /**
   * Resolves on the next event, after `ms` of the queue's clock, or when `signal` aborts,
   * whichever comes first.
   *
   * @param ms The longest wait.
   * @param signal Stops waiting early.
   * @returns When to look again.
   */
  async next(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    const woken = new AbortController();
    const wake = () => woken.abort();
    this.#waiters.add(wake);
    signal?.addEventListener("abort", wake, { once: true });
    try {
      await this.#clock.sleep(ms, woken.signal);
    } finally {
      this.#waiters.delete(wake);
      signal?.removeEventListener("abort", wake);
    }
  }
}
