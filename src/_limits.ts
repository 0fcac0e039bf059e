/**
 * The size limits of the queue's input, in one place: the checks use these numbers and the
 * README's "Input limits" table quotes them (tests/limits_test.ts compares the two, and checks
 * that each limit's error names it).
 *
 * @module
 */

/** The limits of the library's API (`TaskQueue`). */
export const LIMITS = {
  /** Tasks per `enqueueMany()` call. */
  enqueueMany: 10_000,
  /** Tasks per page of `getTasksByStatus()`. */
  listPage: 10_000,
  /** Nesting depth of JSON data: a payload, a result, progress. */
  jsonDepth: 64,
  /** Characters of a task's name. */
  name: 1000,
  /** Characters of a task type (and a schedule's name, a worker id). */
  taskType: 200,
  /** Characters of a unique key. */
  uniqueKey: 500,
  /** Characters of a concurrency key. */
  concurrencyKey: 500,
} as const;

/** The limits of the HTTP API (`createQueueApp`), on top of the library's. */
export const HTTP_LIMITS = {
  /** Tasks per `POST /tasks/batch`. */
  batch: 1000,
  /** Tasks per page of `GET /tasks`. */
  listPage: 1000,
  /** Bytes of a request body, unless `bodyLimitBytes` says otherwise. */
  bodyBytes: 1_048_576,
} as const;
