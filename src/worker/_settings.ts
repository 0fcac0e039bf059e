/**
 * A worker's options, checked and resolved once, in its constructor.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { HandlerDefinition, WorkerOptions, WorkerQueue } from "../worker_options.ts";
import type { Task } from "../task.ts";

/** A worker's time limit for tasks that set none: one hour (see `WorkerOptions.maxRunMs`). */
export const DEFAULT_MAX_RUN_MS = 3_600_000;

/** The resolved options of a worker. */
export interface WorkerSettings {
  readonly id: string;
  readonly handlers: ReadonlyMap<string, HandlerDefinition>;
  readonly concurrency: number;
  /** Tasks claimed beyond `concurrency`, waiting for a slot. */
  readonly prefetch: number;
  readonly pollIntervalMs: number;
  readonly leaseMs: number | undefined;
  readonly heartbeatIntervalMs: number | undefined;
  /** The time limit of tasks that set none (`Infinity`: none). */
  readonly maxRunMs: number;
  /** The types to claim (`undefined`: every type). */
  readonly taskTypes: readonly string[] | undefined;
  /** The same, for matching notifications. */
  readonly wanted: ReadonlySet<string> | undefined;
  readonly maintenance: boolean;
  readonly clock: Clock;
  readonly onDeadLetter: ((task: Task) => void | Promise<void>) | undefined;
  readonly onError: (error: unknown, task: Task | null) => void;
}

/**
 * Checks a worker's options and fills the defaults.
 *
 * @param queue The queue the worker claims from (its logger, its clock).
 * @param options The options as given.
 * @returns The settings.
 * @throws {ValidationError} Options that are not an object, bad handlers, a bad clock.
 * @throws {RangeError} A count or duration that is not a positive integer.
 */
export function workerSettings(queue: WorkerQueue, options: WorkerOptions): WorkerSettings {
  if (typeof options !== "object" || options === null) {
    throw new ValidationError("Invalid worker options: must be an object with handlers");
  }
  const { handlers, concurrency = 1, pollIntervalMs = 1000, leaseMs, taskTypes } = options;
  const { prefetch = 0 } = options;
  if (!(Number.isInteger(prefetch) && prefetch >= 0)) {
    throw new RangeError("Invalid worker options: prefetch must be an integer >= 0");
  }
  const { heartbeatIntervalMs, maxRunMs = DEFAULT_MAX_RUN_MS } = options;
  if (maxRunMs !== Infinity) checkPositive("maxRunMs", maxRunMs);
  if (typeof handlers !== "object" || handlers === null) {
    throw new ValidationError("Invalid worker options: handlers must be an object of functions");
  }
  const definitions = new Map<string, HandlerDefinition>();
  for (const [type, entry] of Object.entries(handlers)) {
    const definition = typeof entry === "function" ? { handler: entry } : entry;
    if (typeof definition?.handler !== "function") {
      throw new ValidationError(
        `Invalid worker options: handlers.${type} must be a function or { handler, timeoutMs?, retry? }`,
      );
    }
    checkPositive(`handlers.${type}.timeoutMs`, definition.timeoutMs);
    definitions.set(type, definition);
  }
  for (
    const [name, value] of Object.entries({
      concurrency,
      pollIntervalMs,
      leaseMs,
      heartbeatIntervalMs,
    })
  ) {
    checkPositive(name, value);
  }
  const types = taskTypes === "*" ? undefined : taskTypes ?? [...definitions.keys()];
  if (types?.length === 0) {
    throw new ValidationError("Invalid worker options: no handlers and no taskTypes to claim");
  }
  const clock = options.clock ?? queue.clock ?? systemClock;
  if (typeof clock?.now !== "function" || typeof clock.sleep !== "function") {
    throw new ValidationError("Invalid worker options: clock must be a Clock ({ now, sleep })");
  }
  const id = options.workerId ?? `worker-${crypto.randomUUID().slice(0, 8)}`;
  return {
    id,
    handlers: definitions,
    concurrency,
    prefetch,
    pollIntervalMs,
    leaseMs,
    heartbeatIntervalMs,
    maxRunMs,
    taskTypes: types,
    wanted: types && new Set(types),
    maintenance: options.maintenance ?? true,
    clock,
    onDeadLetter: options.onDeadLetter,
    onError: options.onError ??
      ((error, task) =>
        queue.logger.error("Worker error", {
          workerId: id,
          taskId: task?.id,
          error: String(error),
        })),
  };
}

function checkPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`Invalid worker options: ${name} must be a positive integer`);
  }
}
