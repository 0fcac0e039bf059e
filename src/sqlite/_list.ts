/**
 * Filtered and sorted task lists: the statement for a {@linkcode TaskFilter}'s shape (which
 * conditions it has, which order), built from the same per-status sources as the plain lists
 * (`LISTED` in `_statements.ts`: each status through its own partial index) and prepared once per
 * shape by the engine.
 *
 * @module
 */

import { type SQL, sql } from "drizzle-orm";
import type { SqliteValue } from "../drivers/driver.ts";
import type { TaskStatus } from "../task.ts";
import type { TaskFilter, TaskSortKey } from "../task_query.ts";
import { type Compiled, count, p, raw } from "./_sql.ts";
import { LISTED } from "./_statements.ts";
import { tasks } from "./schema.ts";

/** A list's statement and its arguments. */
export interface ListQuery {
  /** Identifies the statement's shape (the engine prepares one statement per key). */
  key: string;
  /** Builds the statement (called once per key). */
  build: () => Compiled;
  /** The named arguments. */
  args: Record<string, SqliteValue>;
}

/** The time column of each status's `when`. */
function whenOf(status: TaskStatus): SQL {
  if (status === "pending") return sql`${tasks.scheduledAt}`;
  if (status === "running") return sql`${tasks.startedAt}`;
  return sql`${tasks.completedAt}`;
}

const COLUMNS: Record<Exclude<TaskSortKey, "when">, SQL> = {
  id: sql`${tasks.id}`,
  name: sql`${tasks.name}`,
  taskType: sql`${tasks.taskType}`,
  priority: sql`${tasks.priority}`,
  attempts: sql`${tasks.attempts}`,
};

/**
 * The statement and arguments listing `status` with `filter`.
 *
 * @param status The status.
 * @param page The page.
 * @param filter The conditions and order.
 * @returns The query.
 */
export function listQuery(
  status: TaskStatus,
  page: { limit: number; offset: number },
  filter: TaskFilter,
): ListQuery {
  const rows = status === "pending" ? "pending" : status === "running" ? "running" : "finished";
  const { search, taskType, priority, sort } = filter;
  const due = status === "pending" ? filter.due : null;
  const id = search !== null && /^\d{1,15}$/.test(search) ? Number(search) : null;
  const key = [
    rows,
    search === null ? "" : id === null ? "s" : "si",
    taskType === null ? "" : "t",
    priority === null ? "" : "p",
    due ?? "",
    sort ? sort.by + (sort.descending ? "-" : "+") : "",
  ].join("|");
  const args: Record<string, SqliteValue> = { status, limit: page.limit, offset: page.offset };
  if (search !== null) args.pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  if (id !== null) args.searchId = id;
  if (taskType !== null) args.taskType = taskType;
  if (priority !== null) args.priority = priority;
  if (due !== null) args.now = filter.now;
  const build = () => {
    const { from, where, order } = LISTED[rows];
    const conditions: SQL[] = [sql`${where}`];
    if (search !== null) {
      const like = (column: SQL) => sql`${column} LIKE ${p("pattern")} ESCAPE '\\'`;
      conditions.push(
        sql`(${like(sql`${tasks.name}`)} OR ${like(sql`${tasks.taskType}`)} OR ${
          like(sql`${tasks.concurrencyKey}`)
        } OR ${like(sql`${tasks.payload}`)}${
          id === null ? sql`` : sql` OR ${tasks.id} = ${p("searchId")}`
        })`,
      );
    }
    if (taskType !== null) conditions.push(sql`${tasks.taskType} = ${p("taskType")}`);
    if (priority !== null) conditions.push(sql`${tasks.priority} = ${p("priority")}`);
    if (due === "ready") conditions.push(sql`${tasks.scheduledAt} <= ${p("now")}`);
    if (due === "scheduled") conditions.push(sql`${tasks.scheduledAt} > ${p("now")}`);
    let ordering = order;
    if (sort) {
      const column = sort.by === "when" ? whenOf(status) : COLUMNS[sort.by];
      const dir = sql.raw(sort.descending ? "DESC" : "ASC");
      ordering = sql`${column} ${dir}, ${tasks.id} ${dir}`;
    } else if (due === "scheduled") {
      ordering = sql`${tasks.scheduledAt}, ${tasks.id}`;
    }
    return raw(
      sql`SELECT * FROM ${from} WHERE ${sql.join(conditions, sql` AND `)}
        ORDER BY ${ordering} LIMIT ${count("limit")} OFFSET ${count("offset")}`,
    );
  };
  return { key, build, args };
}
