/**
 * The child process of one measurement, so that each subject's RSS is its own:
 *
 *   <runtime> bench/_child.ts measure '<SubjectRequest JSON>'
 *   <runtime> bench/_child.ts latency-worker <file> <pollIntervalMs>
 *   <runtime> bench/_child.ts scale-build <file> <rows>
 *   <runtime> bench/_child.ts pg-worker '<PgWorkerRequest JSON>'
 *
 * `measure` prints one line, {@linkcode REPORT_MARKER} then a {@linkcode ChildReport} as JSON, and
 * exits (peers may leave timers or sockets behind). The other two modes serve the cross-process
 * latency workload and the scale workload's file; `pg-worker` is a PostgreSQL worker process
 * (bench/_pg_subjects.ts).
 *
 * @module
 */

import process from "node:process";
import { peakRssMb } from "./_runtime.ts";
import { buildScaleFile } from "./_scale.ts";
import { type ChildReport, REPORT_MARKER } from "./_stats.ts";
import type { PgWorkerRequest } from "./_pg.ts";
import { pgWorker } from "./_pg_subjects.ts";
import { latencyWorker } from "./_tasklite.ts";
import { runSubject, type SubjectRequest } from "./_workloads.ts";

/** Prints the report line. */
function report(value: ChildReport | { error: string }): void {
  process.stdout.write(`${REPORT_MARKER}${JSON.stringify(value)}\n`);
}

const [mode, ...args] = process.argv.slice(2);
try {
  if (mode === "measure") {
    const request = JSON.parse(args[0]!) as SubjectRequest;
    const { measures, note } = await runSubject(request);
    report({ measures, peakRssMb: peakRssMb(), ...(note ? { note } : {}) });
  } else if (mode === "latency-worker") {
    await latencyWorker(args[0]!, Number(args[1]));
  } else if (mode === "pg-worker") {
    await pgWorker(JSON.parse(args[0]!) as PgWorkerRequest);
  } else if (mode === "scale-build") {
    const { columns, ms } = await buildScaleFile(args[0]!, Number(args[1]));
    report({
      measures: { "scale-build": { ms } },
      peakRssMb: peakRssMb(),
      note: columns.join(","),
    });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  report({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
process.exit(0);
