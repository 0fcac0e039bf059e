/**
 * tasklite: a durable task queue in one SQLite file, for Deno, Bun and Node.js.
 *
 * @example Quick start
 * ```ts
 * import { TaskPriority, TaskQueue, Worker } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * await queue.enqueue({
 *   name: "Send welcome email",
 *   taskType: "send_email",
 *   payload: { to: "user@example.com" },
 *   priority: TaskPriority.HIGH,
 * });
 * const worker = new Worker(queue, {
 *   handlers: { send_email: (payload) => ({ sent: payload.to }) },
 * });
 * await worker.tick();
 * await queue.close();
 * ```
 *
 * @module
 */

export * from "./src/task.ts";
export * from "./src/errors.ts";
export * from "./src/backoff.ts";
export * from "./src/cron.ts";
export * from "./src/events.ts";
export * from "./src/logger.ts";
export {
  type DurationSummary,
  type QueueMetrics,
  type TaskTypeMetrics,
  toPrometheus,
} from "./src/metrics.ts";
export * from "./src/clock.ts";
export * from "./src/notifier.ts";
export * from "./src/core/retry.ts";
export * from "./src/core/recovery.ts";
export * from "./src/core/explain.ts";
export * from "./src/queue_reader.ts";
export * from "./src/history.ts";
export * from "./src/task_query.ts";
export {
  BACKLOG_KINDS,
  type BacklogKind,
  type Bucket,
  BUCKET_OUTCOMES,
  type BucketKind,
  type BucketOutcome,
  type BucketTotal,
} from "./src/core/buckets.ts";
export * from "./src/queue_operations.ts";
export * from "./src/queue_actions.ts";
export * from "./src/queue.ts";
export * from "./src/worker.ts";
export * from "./src/alarm_worker.ts";
export * from "./src/isolated.ts";
export * from "./src/typed_tasks.ts";
export * from "./src/signals.ts";
export * from "./src/http/client.ts";
export * from "./src/http/http_worker.ts";
export type {
  BatchOp,
  BatchResult,
  ClaimRequest,
  ClaimResult,
  Engine,
  EnqueueResult,
  FiredSlot,
  Firing,
  KeyUsage,
  LeaseRef,
  LiveCount,
  NewSchedule,
  NewTask,
  Outcome,
  RateWindow,
  RecoveryDecision,
  Schedule,
  Transition,
  TransitionKind,
  TypeControl,
  TypeLimits,
  WorkerRecord,
} from "./src/engine.ts";
export { INTEGRITY_CHECKS } from "./src/drivers/driver.ts";
export type {
  ConnectionOptions,
  IntegrityCheck,
  SqliteBinding,
  SqliteDriver,
  SqliteRow,
  SqliteStatement,
  SqliteValue,
  Synchronous,
} from "./src/drivers/driver.ts";
export type { SqliteDatabase } from "./src/drivers/open.ts";
export type { NodeSqliteDatabase } from "./src/drivers/node_sqlite.ts";
export type { BunSqliteDatabase } from "./src/drivers/bun_sqlite.ts";
export type { DurableObjectCursor, DurableObjectStorage } from "./src/drivers/durable_object.ts";
