/**
 * How a task list is filtered and ordered: {@linkcode TaskQueue.getTasksByStatus}'s options, and
 * what an engine's `list` takes.
 *
 * @module
 */

import type { TaskPriority } from "./task.ts";

/**
 * The columns a task list can be sorted by: `when` is the status's own time (due for pending,
 * started for running, finished for the others).
 */
export const TASK_SORT_KEYS = ["id", "name", "taskType", "priority", "attempts", "when"] as const;

/** One of {@linkcode TASK_SORT_KEYS}. */
export type TaskSortKey = typeof TASK_SORT_KEYS[number];

/** Which pending tasks: `ready` (due now, in claim order) or `scheduled` (due later, by due time). */
export const TASK_DUE = ["ready", "scheduled"] as const;

/** One of {@linkcode TASK_DUE}. */
export type TaskDue = typeof TASK_DUE[number];

/** A list's order: a column, and its direction. */
export interface TaskSort {
  /** The column. */
  by: TaskSortKey;
  /** Largest first. */
  descending: boolean;
}

/** Which tasks of a status a list keeps, and in which order (as an engine receives it). */
export interface TaskFilter {
  /**
   * Keep tasks whose id is this number, or whose name, task type or payload text contains it
   * (ASCII letters in any case), or `null`.
   */
  search: string | null;
  /** Only this task type, or `null`. */
  taskType: string | null;
  /** Only this priority, or `null`. */
  priority: TaskPriority | null;
  /** Pending tasks only: due at `now` or not yet (`null`: both). */
  due: TaskDue | null;
  /** The time `due` is judged at, epoch ms. */
  now: number;
  /** The order, or `null` for the status's own (claim order, newest, most recently finished). */
  sort: TaskSort | null;
}

/** The options of {@linkcode TaskQueue.getTasksByStatus}. */
export interface ListOptions {
  /** Keep tasks whose id is this number, or whose name, task type or payload contains it. */
  search?: string | undefined;
  /** Only this task type. */
  taskType?: string | undefined;
  /** Only this priority. */
  priority?: TaskPriority | undefined;
  /**
   * Pending tasks: `ready` (due now, claim order) or `scheduled` (due later, soonest first).
   *
   * @default {undefined} both, in claim order
   */
  due?: TaskDue | undefined;
  /**
   * The order.
   *
   * @default {undefined} the status's own
   */
  sort?: TaskSort | undefined;
}
