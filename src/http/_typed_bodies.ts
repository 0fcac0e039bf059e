/**
 * Enqueue bodies checked by a {@linkcode TaskRegistry} (`createQueueApp(queue, { tasks })`): each
 * task's payload parsed by its type's schema (a `ValidationError`, so a 400 naming the field) and
 * its type's defaults applied under the options the request sent.
 *
 * @module
 */

import type { EnqueueOptions } from "../queue_options.ts";
import type { TaskRegistry, TypedEnqueueOptions } from "../typed_tasks.ts";

/**
 * A body's task as the queue gets it: as validated without a registry; with one, checked by it.
 *
 * @param registry The app's typed tasks, if any.
 * @param task The task as the body schema validated it (defaults filled in).
 * @param raw The task as the request sent it: only its options hide the type's defaults.
 * @param at Where it sits in the body (`tasks.1`), for error messages.
 * @returns The options to enqueue.
 */
export function typedTask(
  registry: TaskRegistry | undefined,
  task: EnqueueOptions,
  raw: unknown,
  at?: string,
): EnqueueOptions {
  if (!registry) return task;
  const sent = typeof raw === "object" && raw !== null
    ? Object.fromEntries(Object.entries(task).filter(([key]) => Object.hasOwn(raw, key)))
    : task;
  return registry.enqueueOptions(sent as TypedEnqueueOptions<never>, "body", at);
}
