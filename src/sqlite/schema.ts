/**
 * The `tasks` table as drizzle sees it. The DDL that creates it lives in the numbered migrations
 * (`_migrations.ts`); a test checks that the two agree.
 *
 * @module
 */

import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The drizzle definition of the `tasks` table. */
export const tasks = sqliteTable("tasks", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  taskType: text("task_type").notNull(),
  payload: text("payload").notNull(),
  priority: integer("priority").notNull(),
  status: text("status").notNull(),
  result: text("result"),
  error: text("error"),
  retryCount: integer("retry_count").notNull(),
  maxRetries: integer("max_retries").notNull(),
  attempts: integer("attempts").notNull(),
  uniqueKey: text("unique_key"),
  createdAt: integer("created_at").notNull(),
  scheduledAt: integer("scheduled_at").notNull(),
  startedAt: integer("started_at"),
  completedAt: integer("completed_at"),
  failedAt: integer("failed_at"),
  workerId: text("worker_id"),
  leaseMs: integer("lease_ms"),
  leaseExpiresAt: integer("lease_expires_at"),
});
