/**
 * Typed tasks: one definition per task type ({@linkcode defineTask}: its valibot payload schema,
 * optionally its result schema, its version and upgrade, its enqueue defaults), gathered in a
 * {@linkcode TaskRegistry} ({@linkcode defineTasks}) that types and checks the whole way: enqueue
 * ({@linkcode typedQueue}), the Worker's or HttpWorker's handlers ({@linkcode TaskRegistry.handlers}),
 * and over HTTP (`createQueueApp(queue, { tasks })`, `hc<TypedQueueApp<typeof tasks>>`).
 *
 * @module
 */

import type * as v from "valibot";
import type { RetryStrategy } from "./core/retry.ts";
import { ValidationError } from "./errors.ts";
import type { EnqueueOptions, TransactionOptions } from "./queue_options.ts";
import type { RetryPolicy, Task, TaskPriority } from "./task.ts";
import type { HandlerDefinition, TaskContext } from "./worker_options.ts";
import { EnqueueSchema, parse } from "./_validation.ts";
import { checkResult, decodePayload, encodePayload } from "./_typed_payload.ts";

// The shorthands below are marked @internal so that `deno doc --lint` accepts the exports that
// use them: it takes valibot's types for private ones (denoland/deno#27364).

/**
 * A synchronous valibot schema.
 *
 * @internal
 */
type Schema = v.GenericSchema;
/**
 * A valibot schema's input type.
 *
 * @internal
 */
type Input<S extends Schema> = v.InferInput<S>;
/**
 * A valibot schema's output type.
 *
 * @internal
 */
type Output<S extends Schema> = v.InferOutput<S>;

/** The enqueue options a task type gets unless its enqueue says otherwise. */
export interface TaskDefaults {
  /**
   * Higher runs first.
   *
   * @default {TaskPriority.NORMAL}
   */
  priority?: TaskPriority;
  /**
   * Retries after the first failure.
   *
   * @default {3}
   */
  maxRetries?: number;
  /** Run time limit, in ms. */
  timeoutMs?: number;
  /** How long to wait between attempts. */
  retry?: RetryPolicy;
}

/** Upgrades a payload stored under an older version to the definition's current shape. */
export type PayloadUpgrade = (payload: unknown, fromVersion: number) => unknown;

/** What {@linkcode defineTask} takes. */
export interface TaskDefinitionOptions<
  T extends string,
  P extends Schema,
  R extends Schema | undefined,
> {
  /** The task type. */
  type: T;
  /** The payload's schema (synchronous valibot), checked at enqueue and again at claim. */
  payload: P;
  /** The handler's result's schema, checked before the task completes. */
  result?: R;
  /**
   * The payload's version: raise it when the shape changes, with an `upgrade`.
   *
   * @default {1}
   */
  version?: number;
  /**
   * Turns a payload stored under an older version into the current shape, before it is checked
   * and handed to the handler. Without it, an older payload is checked as it is.
   */
  upgrade?: PayloadUpgrade;
  /**
   * Enqueue options for tasks of this type; an enqueue's own win.
   *
   * @default {{}}
   */
  defaults?: TaskDefaults;
}

/** One task type's definition, made by {@linkcode defineTask}. */
export interface TaskDefinition<
  T extends string = string,
  P extends Schema = Schema,
  R extends Schema | undefined = Schema | undefined,
> {
  /** The task type. */
  readonly type: T;
  /** The payload's schema. */
  readonly payload: P;
  /** The result's schema, if any. */
  readonly result: R;
  /** The payload's version (1 when not given). */
  readonly version: number;
  /** The upgrade of older payloads, if any. */
  readonly upgrade: PayloadUpgrade | undefined;
  /** The enqueue defaults. */
  readonly defaults: Readonly<TaskDefaults>;
}

/** Any definition (the registry's element type). */
// deno-lint-ignore no-explicit-any
export type AnyTaskDefinition = TaskDefinition<string, any, any>;

/** The payload a definition's enqueue takes (its schema's input). */
export type PayloadInput<D extends AnyTaskDefinition> = Input<D["payload"]>;

/** The payload a definition's handler gets (its schema's output). */
export type PayloadOutput<D extends AnyTaskDefinition> = Output<D["payload"]>;

/** What a definition's handler returns: its result schema's input, or anything without one. */
export type ResultInput<D extends AnyTaskDefinition> = D["result"] extends Schema
  ? Input<D["result"]>
  : unknown;

/** Enqueue options of one of the definitions: `payload`'s type follows `taskType`. */
export type TypedEnqueueOptions<D extends AnyTaskDefinition> = D extends AnyTaskDefinition
  ? Omit<EnqueueOptions, "taskType" | "payload"> & {
    /** One of the registry's task types. */
    taskType: D["type"];
    /** That type's payload. */
    payload: PayloadInput<D>;
  }
  : never;

/** A handler of a definition: its parsed payload in, its result out. */
export type TypedHandler<D extends AnyTaskDefinition> = (
  payload: PayloadOutput<D>,
  context: TaskContext,
) => ResultInput<D> | Promise<ResultInput<D>>;

/** Handlers by task type, each typed by its definition; a worker may handle some types only. */
export type TypedHandlers<D extends AnyTaskDefinition> = {
  [T in D["type"]]?:
    | TypedHandler<Extract<D, { type: T }>>
    | {
      /** The handler. */
      handler: TypedHandler<Extract<D, { type: T }>>;
      /** Run time limit for tasks of this type (a task's own `timeoutMs` wins). */
      timeoutMs?: number;
      /** Retry delays for tasks of this type (a task's own `retry` policy wins). */
      retry?: RetryStrategy;
    };
};

function isSchema(value: unknown): value is Schema {
  const schema = value as { kind?: unknown; async?: unknown } | null;
  return typeof schema === "object" && schema !== null && schema.kind === "schema" &&
    schema.async === false;
}

/**
 * Defines a task type: its payload schema, optionally its result schema, version and upgrade,
 * and its enqueue defaults. Bad definitions throw a `TypeError` (a `ValidationError`).
 *
 * @example Usage
 * ```ts
 * import * as v from "valibot";
 * import { defineTask, TaskPriority } from "@tasklite/tasklite";
 *
 * const sendEmail = defineTask({
 *   type: "send_email",
 *   payload: v.object({ to: v.pipe(v.string(), v.email()) }),
 *   result: v.object({ sent: v.boolean() }),
 *   defaults: { priority: TaskPriority.HIGH, maxRetries: 5 },
 * });
 * console.log(sendEmail.version); // 1
 * ```
 *
 * @param options The definition.
 * @returns The definition, with its defaults filled in.
 */
export function defineTask<
  const T extends string,
  P extends Schema,
  R extends Schema | undefined = undefined,
>(options: TaskDefinitionOptions<T, P, R>): TaskDefinition<T, P, R> {
  if (typeof options !== "object" || options === null) {
    throw new ValidationError("Invalid task definition: must be an object");
  }
  const { type, payload, result, version = 1, upgrade, defaults = {} } = options;
  parse(EnqueueSchema, { name: "definition", taskType: type, ...defaults }, "task definition");
  if (!isSchema(payload)) {
    throw new ValidationError(
      `Invalid task definition "${type}": payload must be a synchronous valibot schema`,
    );
  }
  if (result !== undefined && !isSchema(result)) {
    throw new ValidationError(
      `Invalid task definition "${type}": result must be a synchronous valibot schema`,
    );
  }
  if (!(Number.isInteger(version) && version >= 1 && version <= 1_000_000)) {
    throw new ValidationError(
      `Invalid task definition "${type}": version must be an integer from 1 to 1000000`,
    );
  }
  if (upgrade !== undefined && typeof upgrade !== "function") {
    throw new ValidationError(`Invalid task definition "${type}": upgrade must be a function`);
  }
  return Object.freeze({
    type,
    payload,
    result: result as R,
    version,
    upgrade,
    defaults: Object.freeze({ ...defaults }),
  });
}

/** Drops the options set to `undefined`, so that they do not hide a default. */
function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/**
 * The task types of an application, from their definitions: checks enqueues
 * ({@linkcode TaskRegistry.enqueueOptions}), wraps handlers ({@linkcode TaskRegistry.handlers})
 * and types both. Make one with {@linkcode defineTasks}.
 *
 * @example Usage
 * ```ts
 * import * as v from "valibot";
 * import { defineTask, defineTasks } from "@tasklite/tasklite";
 *
 * const tasks = defineTasks([
 *   defineTask({ type: "resize", payload: v.object({ image: v.number() }) }),
 * ]);
 * console.log(tasks.types); // ["resize"]
 * ```
 */
export class TaskRegistry<D extends AnyTaskDefinition = AnyTaskDefinition> {
  readonly #byType: ReadonlyMap<string, D>;

  /**
   * Builds the registry (prefer {@linkcode defineTasks}, which infers the types).
   *
   * @param definitions The definitions, one per task type.
   */
  constructor(definitions: readonly D[]) {
    if (!Array.isArray(definitions)) {
      throw new ValidationError("Invalid task definitions: must be an array of defineTask()s");
    }
    const byType = new Map<string, D>();
    for (const definition of definitions) {
      if (!isSchema(definition?.payload) || typeof definition.type !== "string") {
        throw new ValidationError("Invalid task definitions: each must come from defineTask()");
      }
      if (byType.has(definition.type)) {
        throw new ValidationError(
          `Invalid task definitions: task type "${definition.type}" is defined twice`,
        );
      }
      byType.set(definition.type, definition);
    }
    this.#byType = byType;
  }

  /** The task types, in definition order. */
  get types(): string[] {
    return [...this.#byType.keys()];
  }

  /**
   * The definition of a task type.
   *
   * @example Usage
   * ```ts
   * import * as v from "valibot";
   * import { defineTask, defineTasks } from "@tasklite/tasklite";
   *
   * const tasks = defineTasks([defineTask({ type: "t", payload: v.string(), version: 2 })]);
   * console.log(tasks.get("t")?.version); // 2
   * ```
   *
   * @param taskType The task type.
   * @returns Its definition, or `undefined`.
   */
  get(taskType: string): D | undefined {
    return this.#byType.get(taskType);
  }

  /**
   * Checks typed enqueue options and turns them into the queue's: the payload parsed by its
   * schema (and stamped with the definition's version), the type's defaults under the options.
   *
   * @example Usage
   * ```ts
   * import * as v from "valibot";
   * import { defineTask, defineTasks } from "@tasklite/tasklite";
   *
   * const tasks = defineTasks([
   *   defineTask({ type: "t", payload: v.object({ n: v.number() }), defaults: { maxRetries: 9 } }),
   * ]);
   * console.log(tasks.enqueueOptions({ name: "n", taskType: "t", payload: { n: 1 } }).maxRetries); // 9
   * ```
   *
   * @param options The typed options.
   * @param what The input, for error messages.
   * @param at Where the options sit in it (`1` for a batch's second item), for error messages.
   * @returns The options to enqueue.
   * @throws {ValidationError} An unknown task type, or a payload its schema refuses (naming the
   * field).
   */
  enqueueOptions(
    options: TypedEnqueueOptions<D>,
    what = "enqueue options",
    at?: string,
  ): EnqueueOptions {
    const prefix = at === undefined ? "" : `${at}.`;
    if (typeof options !== "object" || options === null) {
      throw new ValidationError(`Invalid ${what}: ${at ?? "options"} must be an object`);
    }
    const definition = this.#byType.get(options.taskType);
    if (!definition) {
      throw new ValidationError(
        `Invalid ${what}: ${prefix}taskType ${
          JSON.stringify(options.taskType)
        } is not a defined task type (${this.types.join(", ")})`,
      );
    }
    const payload = encodePayload(definition, options.payload, what, `${prefix}payload`);
    return { ...definition.defaults, ...defined(options), payload } as EnqueueOptions;
  }

  /**
   * Wraps typed handlers for a `Worker` or `HttpWorker`: before each handler, the claimed task's
   * payload is upgraded from its stored version and parsed (one that no longer matches fails the
   * task for good, with the reason in its errors, instead of reaching the handler); after it, the
   * result is parsed by the result schema.
   *
   * @example Usage
   * ```ts
   * import * as v from "valibot";
   * import { defineTask, defineTasks, TaskQueue, Worker } from "@tasklite/tasklite";
   *
   * const tasks = defineTasks([
   *   defineTask({ type: "add", payload: v.object({ a: v.number(), b: v.number() }) }),
   * ]);
   * const queue = await TaskQueue.open(":memory:");
   * await queue.enqueue({ name: "1+2", taskType: "add", payload: { a: 1, b: 2 } });
   * const worker = new Worker(queue, { handlers: tasks.handlers({ add: (p) => p.a + p.b }) });
   * await worker.tick();
   * console.log((await queue.getTask(1))?.result); // 3
   * await queue.close();
   * ```
   *
   * @param handlers Handlers by task type (a handler, or `{ handler, timeoutMs, retry }`).
   * @returns The handlers, for `WorkerOptions.handlers`.
   */
  handlers(handlers: TypedHandlers<D>): Record<string, HandlerDefinition> {
    if (typeof handlers !== "object" || handlers === null) {
      throw new ValidationError("Invalid handlers: must be an object of task type → handler");
    }
    const wrapped: Record<string, HandlerDefinition> = {};
    for (const [taskType, entry] of Object.entries(handlers)) {
      const definition = this.#byType.get(taskType);
      if (!definition) {
        throw new ValidationError(
          `Invalid handlers: task type ${JSON.stringify(taskType)} is not a defined task type (${
            this.types.join(", ")
          })`,
        );
      }
      const { handler, ...settings } = typeof entry === "function"
        ? { handler: entry }
        : entry as { handler: TypedHandler<D>; timeoutMs?: number; retry?: RetryStrategy };
      if (typeof handler !== "function") {
        throw new ValidationError(`Invalid handlers: ${taskType} must be a function`);
      }
      wrapped[taskType] = {
        ...settings,
        handler: async (_payload: unknown, context: TaskContext) => {
          const task: Task = context.task;
          const payload = decodePayload(definition, task);
          const result = await (handler as TypedHandler<AnyTaskDefinition>)(payload, context);
          return checkResult(definition, task, result);
        },
      };
    }
    return wrapped;
  }
}

/**
 * Builds a {@linkcode TaskRegistry} from definitions, typed by them.
 *
 * @example Usage
 * ```ts
 * import * as v from "valibot";
 * import { defineTask, defineTasks } from "@tasklite/tasklite";
 *
 * const tasks = defineTasks([
 *   defineTask({ type: "send_email", payload: v.object({ to: v.string() }) }),
 *   defineTask({ type: "resize", payload: v.object({ image: v.number() }) }),
 * ]);
 * console.log(tasks.types); // ["send_email", "resize"]
 * ```
 *
 * @param definitions One {@linkcode defineTask} per task type.
 * @returns The registry.
 */
export function defineTasks<const L extends readonly AnyTaskDefinition[]>(
  definitions: L,
): TaskRegistry<L[number]> {
  return new TaskRegistry<L[number]>(definitions);
}

/** The definitions of a registry, as a union. */
export type DefinitionsOf<R> = R extends TaskRegistry<infer D> ? D : never;

/** The enqueue verbs a {@linkcode typedQueue} needs of a queue (a `TaskQueue`). */
export interface EnqueueingQueue {
  /** Adds a task. */
  enqueue(options: EnqueueOptions, where?: TransactionOptions): Promise<number>;
  /** Adds many tasks, all or none. */
  enqueueMany(list: readonly EnqueueOptions[], where?: TransactionOptions): Promise<number[]>;
}

/** A queue's enqueue verbs typed and checked by a registry: made by {@linkcode typedQueue}. */
export interface TypedQueue<D extends AnyTaskDefinition> {
  /** The queue itself, for everything else. */
  readonly queue: EnqueueingQueue;
  /** The registry. */
  readonly tasks: TaskRegistry<D>;
  /**
   * Adds a task of a defined type: its payload is checked (a `ValidationError` naming the field,
   * nothing written), its type's defaults apply.
   */
  enqueue(options: TypedEnqueueOptions<D>, where?: TransactionOptions): Promise<number>;
  /** Adds tasks of defined types in one transaction: all of them, or none if any is invalid. */
  enqueueMany(
    list: readonly TypedEnqueueOptions<D>[],
    where?: TransactionOptions,
  ): Promise<number[]>;
}

/**
 * A queue's enqueue verbs, typed and checked by a registry: `taskType` must be a defined type and
 * `payload` that type's payload (compile errors otherwise, and a `ValidationError` at run time).
 * The untyped queue keeps working as it did.
 *
 * @example Usage
 * ```ts
 * import * as v from "valibot";
 * import { defineTask, defineTasks, TaskQueue, typedQueue } from "@tasklite/tasklite";
 *
 * const tasks = defineTasks([
 *   defineTask({ type: "send_email", payload: v.object({ to: v.pipe(v.string(), v.email()) }) }),
 * ]);
 * const queue = await TaskQueue.open(":memory:");
 * const typed = typedQueue(queue, tasks);
 * await typed.enqueue({ name: "Welcome", taskType: "send_email", payload: { to: "a@b.co" } });
 * await typed.enqueue({ name: "Bad", taskType: "send_email", payload: { to: "nope" } })
 *   .catch((error) => console.log(error.message)); // Invalid enqueue options: payload.to Invalid email: …
 * await queue.close();
 * ```
 *
 * @param queue The queue (a `TaskQueue`).
 * @param tasks The registry.
 * @returns The typed view.
 */
export function typedQueue<D extends AnyTaskDefinition>(
  queue: EnqueueingQueue,
  tasks: TaskRegistry<D>,
): TypedQueue<D> {
  return {
    queue,
    tasks,
    // async: a bad payload rejects; the queue's enqueue is still called before the first await,
    // so that it writes inside a synchronous transaction callback (SQLite) as it does untyped.
    enqueue: async (options, where) => await queue.enqueue(tasks.enqueueOptions(options), where),
    enqueueMany: async (list, where) => {
      if (!Array.isArray(list)) {
        throw new ValidationError("Invalid enqueue options: must be an array of task options");
      }
      const all = list.map((options, i) =>
        tasks.enqueueOptions(options, "enqueue options", `${i}`)
      );
      return await queue.enqueueMany(all, where);
    },
  };
}
