/**
 * A task as the engine stores it, from enqueue options that passed validation: defaults filled in,
 * the due time in epoch ms.
 *
 * @module
 */

import type * as v from "valibot";
import type { NewTask } from "../engine.ts";
import type { JsonValue, RetryPolicy } from "../task.ts";
import type { EnqueueSchema } from "../_validation.ts";

/** Enqueue options after validation. */
export type ParsedEnqueue = v.InferOutput<typeof EnqueueSchema>;

/**
 * Fills a validated task's defaults in.
 *
 * @param options The validated options.
 * @param now Now, epoch ms: the due time when none is given.
 * @returns The task to store.
 */
export function toNewTask(options: ParsedEnqueue, now: number): NewTask {
  const { scheduledAt } = options;
  return {
    name: options.name,
    taskType: options.taskType,
    payload: options.payload as JsonValue,
    priority: options.priority,
    scheduledAt: scheduledAt === undefined
      ? now
      : typeof scheduledAt === "number"
      ? scheduledAt
      : scheduledAt.getTime(),
    maxRetries: options.maxRetries,
    uniqueKey: options.uniqueKey ?? null,
    timeoutMs: options.timeoutMs ?? null,
    retryPolicy: (options.retry ?? null) as RetryPolicy | null,
    concurrencyKey: options.concurrencyKey ?? null,
  };
}
