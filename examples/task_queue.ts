/**
 * The seed's demo: enqueue eight tasks, run three workers, print the queue's story.
 *
 *   deno run -A examples/task_queue.ts
 *   bun run examples/task_queue.ts
 *   node examples/task_queue.ts        (Node.js >= 22.18, after `npm install`)
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EnqueueOptions,
  priorityName,
  type QueueStats,
  type TaskContext,
  type TaskHandler,
  TaskPriority,
  TaskQueue,
  TaskStatus,
  Worker,
} from "../mod.ts";

const line = "=".repeat(60);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The handler registry: task type → what the task does. */
const TASK_HANDLERS: Record<string, TaskHandler> = {
  send_email: async (payload: { to: string; subject: string }) => {
    console.log(`  📧 Sending email to ${payload.to}`);
    console.log(`     Subject: ${payload.subject}`);
    await sleep(100);
    return { sent: true, to: payload.to };
  },
  generate_report: async (payload: { report: string }) => {
    console.log(`  📊 Generating ${payload.report} report`);
    await sleep(150);
    return { rows: 1234, report: payload.report };
  },
  process_image: async (payload: { image: string; size: [number, number] }) => {
    console.log(`  🖼️ Resizing ${payload.image} to ${payload.size.join("x")}`);
    await sleep(120);
    return { thumbnail: payload.image.replace(".jpg", "_thumb.jpg") };
  },
  sync_data: async (payload: { source: string }) => {
    console.log(`  🔄 Syncing data from ${payload.source}`);
    await sleep(80);
    return { synced: 42 };
  },
  cleanup: async (payload: { olderThanDays: number }) => {
    console.log(`  🧹 Cleaning up files older than ${payload.olderThanDays} days`);
    await sleep(50);
    return { removed: 17 };
  },
};

/** Wraps a handler with the demo's progress lines. */
function narrated(handler: TaskHandler): TaskHandler {
  return async (payload, context: TaskContext) => {
    console.log(`⚙️ Processing task #${context.task.id}: ${context.task.name}`);
    const result = await handler(payload, context);
    console.log(`✅ Task #${context.task.id} completed`);
    return result;
  };
}

function printStats(stats: QueueStats): void {
  const order = ["completed", "failed", "cancelled", "running", "pending"] as const;
  for (const status of order) {
    if (stats[status] > 0) console.log(`  ${status}: ${stats[status]}`);
  }
}

const DEMO_TASKS: EnqueueOptions[] = [
  {
    name: "Send welcome email",
    taskType: "send_email",
    payload: { to: "user@example.com", subject: "Welcome!" },
    priority: TaskPriority.HIGH,
  },
  {
    name: "Generate sales report",
    taskType: "generate_report",
    payload: { report: "sales" },
    priority: TaskPriority.HIGH,
  },
  ...[1, 2, 3].map((n) => ({
    name: `Process image ${n}`,
    taskType: "process_image",
    payload: { image: `photo_${n}.jpg`, size: [800, 600] },
    priority: TaskPriority.NORMAL,
  })),
  {
    name: "Sync customer data",
    taskType: "sync_data",
    payload: { source: "crm" },
    priority: TaskPriority.LOW,
  },
  {
    name: "Send newsletter",
    taskType: "send_email",
    payload: { to: "subscribers@example.com", subject: "Monthly newsletter" },
    priority: TaskPriority.LOW,
  },
  {
    name: "Scheduled cleanup",
    taskType: "cleanup",
    payload: { olderThanDays: 30 },
    scheduledAt: new Date(Date.now() + 3_600_000), // in an hour: stays pending in this demo
  },
];

const dir = mkdtempSync(join(tmpdir(), "tasklite-demo-"));
const queue = await TaskQueue.open(join(dir, "tasks.db"));
try {
  console.log(line);
  console.log("Task Queue System Demo");
  console.log(line);

  console.log("\n📝 Enqueueing tasks...");
  for (const task of DEMO_TASKS) {
    const id = await queue.enqueue(task);
    const priority = priorityName(task.priority ?? TaskPriority.NORMAL);
    console.log(`📝 Enqueued task #${id}: ${task.name} (priority: ${priority})`);
  }

  console.log("\n📊 Initial Queue Stats:");
  printStats(await queue.getQueueStats());

  console.log("\n🚀 Starting workers...");
  const handlers = Object.fromEntries(
    Object.entries(TASK_HANDLERS).map(([type, handler]) => [type, narrated(handler)]),
  );
  const workers = [1, 2, 3].map((n) =>
    new Worker(queue, { handlers, workerId: `Worker-${n}`, pollIntervalMs: 100 })
  );
  for (const worker of workers) {
    worker.start();
    console.log(`🔧 Worker started: ${worker.id}`);
  }
  await Promise.all(workers.map((worker) => worker.onIdle()));
  await Promise.all(workers.map((worker) => worker.stop()));

  console.log(`\n${line}`);
  console.log("📊 Final Queue Stats:");
  const stats = await queue.getQueueStats();
  printStats(stats);

  console.log("\n✅ Recently Completed Tasks:");
  for (const task of await queue.getTasksByStatus(TaskStatus.COMPLETED, 10)) {
    console.log(`  #${task.id}: ${task.name}`);
  }

  if (stats.completed !== 7 || stats.pending !== 1) {
    throw new Error(`Expected 7 completed and 1 pending, got ${JSON.stringify(stats)}`);
  }
  console.log("\n✅ Demo completed successfully!");
} finally {
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
}
