/**
 * Counters and durations per task type, gathered from this process's queue events, plus live
 * counts read from the database; and their Prometheus text exposition.
 *
 * @module
 */

import type { LiveCount } from "./engine.ts";
import type { Emitter } from "./_emitter.ts";
import type { QueueStats, Task } from "./task.ts";

/** Percentiles of the most recent durations (up to 1,024 per task type), in milliseconds. */
export interface DurationSummary {
  /** Samples seen since the queue opened. */
  count: number;
  /** Median, or `null` without samples. */
  p50: number | null;
  /** 90th percentile. */
  p90: number | null;
  /** 99th percentile. */
  p99: number | null;
  /** Longest recent sample. */
  max: number | null;
  /** Sum of every sample since the queue opened. */
  sum: number;
}

/** What one task type did. Counters count since the queue was opened in this process. */
export interface TaskTypeMetrics {
  /** Pending now (all processes). */
  pending: number;
  /** Running now (all processes). */
  running: number;
  /** Completed. */
  completed: number;
  /** Failed attempts that will be retried. */
  failed: number;
  /** Tasks that ended `failed` (dead letters). */
  dead: number;
  /** Tasks that ended `cancelled`. */
  cancelled: number;
  /** Redriven tasks. */
  retried: number;
  /** From due (`scheduledAt`) to claimed (`startedAt`). */
  waitMs: DurationSummary;
  /** From claimed to completed or failed. */
  runMs: DurationSummary;
}

/** A snapshot of {@linkcode TaskQueue.metrics}. */
export interface QueueMetrics {
  /** When counting started, epoch ms. */
  since: number;
  /** Tasks per status in the whole file. */
  totals: QueueStats;
  /** Per task type. */
  taskTypes: Record<string, TaskTypeMetrics>;
}

const RESERVOIR = 1024;

class Samples {
  count = 0;
  sum = 0;
  readonly #ring: number[] = [];
  add(value: number): void {
    this.#ring[this.count++ % RESERVOIR] = value;
    this.sum += value;
  }
  summary(): DurationSummary {
    const sorted = [...this.#ring].sort((a, b) => a - b);
    const at = (q: number) => sorted.length ? sorted[Math.ceil(q * sorted.length) - 1]! : null;
    return {
      count: this.count,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: at(1),
      sum: this.sum,
    };
  }
}

interface Counters {
  completed: number;
  failed: number;
  dead: number;
  cancelled: number;
  retried: number;
  wait: Samples;
  run: Samples;
}

/** Listens to a queue's events and keeps per-type counters and duration samples. */
export class MetricsCollector {
  readonly #since: number;
  readonly #types = new Map<string, Counters>();

  /**
   * Starts collecting.
   *
   * @param events The queue's emitter.
   * @param now The queue's clock.
   */
  constructor(events: Emitter, now: number) {
    this.#since = now;
    const ran = (task: Task, counters: Counters, end: number | null) => {
      if (task.startedAt !== null && end !== null) counters.run.add(end - task.startedAt);
    };
    events.on("started", ({ task }) => {
      if (task.startedAt !== null) {
        this.#of(task.taskType).wait.add(task.startedAt - task.scheduledAt);
      }
    });
    events.on("completed", ({ task }) => {
      const counters = this.#of(task.taskType);
      counters.completed++;
      ran(task, counters, task.completedAt);
    });
    events.on("failed", ({ task }) => {
      const counters = this.#of(task.taskType);
      counters.failed++;
      ran(task, counters, task.failedAt);
    });
    events.on("dead", ({ task }) => {
      const counters = this.#of(task.taskType);
      counters.dead++;
      ran(task, counters, task.failedAt);
    });
    events.on("cancelled", ({ task }) => void this.#of(task.taskType).cancelled++);
    events.on("retried", ({ task }) => void this.#of(task.taskType).retried++);
  }

  #of(taskType: string): Counters {
    let counters = this.#types.get(taskType);
    if (!counters) {
      counters = {
        completed: 0,
        failed: 0,
        dead: 0,
        cancelled: 0,
        retried: 0,
        wait: new Samples(),
        run: new Samples(),
      };
      this.#types.set(taskType, counters);
    }
    return counters;
  }

  /**
   * A snapshot, merged with live counts from the database.
   *
   * @param totals Tasks per status.
   * @param live Pending and running tasks per type.
   * @returns The metrics.
   */
  snapshot(totals: QueueStats, live: readonly LiveCount[]): QueueMetrics {
    for (const { taskType } of live) this.#of(taskType);
    const taskTypes: Record<string, TaskTypeMetrics> = {};
    for (const [taskType, c] of [...this.#types].sort(([a], [b]) => a.localeCompare(b))) {
      const count = (status: string) =>
        live.find((l) => l.taskType === taskType && l.status === status)?.count ?? 0;
      taskTypes[taskType] = {
        pending: count("pending"),
        running: count("running"),
        completed: c.completed,
        failed: c.failed,
        dead: c.dead,
        cancelled: c.cancelled,
        retried: c.retried,
        waitMs: c.wait.summary(),
        runMs: c.run.summary(),
      };
    }
    return { since: this.#since, totals, taskTypes };
  }
}

/**
 * Renders metrics in the Prometheus text exposition format (version 0.0.4).
 *
 * @example Serve them
 * ```ts
 * import { TaskQueue, toPrometheus } from "@tasklite/tasklite";
 *
 * const queue = await TaskQueue.open(":memory:");
 * const text = toPrometheus(await queue.metrics());
 * console.log(text.includes("tasklite_tasks{status=\"pending\"} 0")); // true
 * await queue.close();
 * ```
 *
 * @param metrics A snapshot from {@linkcode TaskQueue.metrics}.
 * @param prefix The metric name prefix.
 * @returns The exposition text.
 */
export function toPrometheus(metrics: QueueMetrics, prefix = "tasklite"): string {
  const lines: string[] = [];
  const label = (value: string) =>
    value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${type}`);
  };
  family("tasks", "gauge", "Tasks in the queue file, by status.");
  for (const [status, count] of Object.entries(metrics.totals)) {
    lines.push(`${prefix}_tasks{status="${status}"} ${count}`);
  }
  const types = Object.entries(metrics.taskTypes);
  family("live_tasks", "gauge", "Pending and running tasks, by task type.");
  for (const [type, m] of types) {
    lines.push(`${prefix}_live_tasks{task_type="${label(type)}",status="pending"} ${m.pending}`);
    lines.push(`${prefix}_live_tasks{task_type="${label(type)}",status="running"} ${m.running}`);
  }
  const counters = [
    ["completed", "Tasks completed by this process."],
    ["failed", "Failed attempts that will be retried, in this process."],
    ["dead", "Tasks that ended failed with no retries left, in this process."],
    ["cancelled", "Tasks cancelled, in this process."],
    ["retried", "Tasks redriven, in this process."],
  ] as const;
  for (const [name, help] of counters) {
    family(`${name}_total`, "counter", help);
    for (const [type, m] of types) {
      lines.push(`${prefix}_${name}_total{task_type="${label(type)}"} ${m[name]}`);
    }
  }
  const summaries = [
    ["wait_seconds", "waitMs", "From due to claimed, recent tasks."],
    ["run_seconds", "runMs", "From claimed to finished, recent attempts."],
  ] as const;
  for (const [name, key, help] of summaries) {
    family(name, "summary", help);
    for (const [type, m] of types) {
      const s = m[key];
      for (const [q, v] of [["0.5", s.p50], ["0.9", s.p90], ["0.99", s.p99]] as const) {
        if (v !== null) {
          lines.push(`${prefix}_${name}{task_type="${label(type)}",quantile="${q}"} ${v / 1000}`);
        }
      }
      lines.push(`${prefix}_${name}_sum{task_type="${label(type)}"} ${s.sum / 1000}`);
      lines.push(`${prefix}_${name}_count{task_type="${label(type)}"} ${s.count}`);
    }
  }
  return lines.join("\n") + "\n";
}
