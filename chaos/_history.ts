/**
 * The chaos suite's histories and how they are counted, Jepsen-style: every process appends one
 * JSON line per operation (`invoke`, then `ok`, `fail` or nothing when the process died), and
 * {@linkcode analyze} weighs them against the database's final rows.
 *
 * - lost: an enqueue acknowledged (`ok`) whose task is missing at the end (or whose id holds a task
 *   of another name), or not in one of the statuses the scenario expects (after a clean drain:
 *   `completed`). Counted per acknowledgement, so one id acknowledged twice counts twice.
 * - duplicated: a claim of a task while an earlier run of it still held a valid lease (claimed at
 *   `startedAt`, valid until the latest `leaseUntil` its claim or heartbeats returned, and no later
 *   than when that run finished or saw its lease lost), or the same (id, attempt) claimed twice.
 * - stale accepted: a completion or failure of run (id, a) the queue acknowledged after run
 *   (id, b > a) had been claimed; or a completed row whose result names an attempt other than the
 *   row's (handlers return `{ pid, attempt }`), which also catches acknowledgements a killed
 *   process never logged.
 * - BUSY: operations that failed with a busy/locked database, as the caller saw them.
 *
 * Lines a SIGKILL cut off are lost with the process: a run whose heartbeats were not logged looks
 * shorter-leased than it was, so duplicates are undercounted, never invented.
 *
 * @module
 */

/** What one line says about one operation. */
export type EventType = "invoke" | "ok" | "fail" | "info";

/** The operations a history records. */
export type Operation =
  | "enqueue"
  | "claim"
  | "heartbeat"
  | "complete"
  | "fail"
  | "release"
  | "run"
  | "error"
  | "tick";

/** One line of a history file. */
export interface HistoryEvent {
  /** Wall-clock time it was recorded (epoch ms; one machine, so comparable across processes). */
  t: number;
  /** The process that recorded it. */
  pid: number;
  /** The operation. */
  op: Operation;
  /** invoke / ok / fail, or info (a handler's own notes, a worker error). */
  type: EventType;
  /** The task. */
  id?: number;
  /** The run's lease token (`attempts` at claim). */
  attempt?: number;
  /** When the database claimed the run (the task's `startedAt`). */
  startedAt?: number;
  /** The lease expiry the database returned (claim, heartbeat). */
  leaseUntil?: number;
  /** A producer's own key for an enqueue (links invoke and ok). */
  key?: string;
  /** An enqueue's task name: the acknowledged id must hold a task of this name. */
  name?: string;
  /** What failed. */
  error?: string;
  /** The failure's class: `busy`, `full`, `corrupt`, `lease`, `validation`, `other`. */
  kind?: string;
}

/** A task's final row, as the counting needs it. */
export interface FinalRow {
  /** The task id. */
  id: number;
  /** Its final status. */
  status: string;
  /** Its final `attempts`. */
  attempts: number;
  /** Its name (checked against an acknowledged enqueue's). */
  name?: string;
  /** The stored result, parsed (`null` when none). */
  result: unknown;
}

/** What a scenario counted. */
export interface Counts {
  /** Operations invoked (enqueues, claims, heartbeats, completions, failures). */
  operations: number;
  /** Acknowledged enqueues without the expected final state. */
  lost: number;
  /** Runs claimed while an earlier run held a valid lease. */
  duplicated: number;
  /** Completions or failures accepted from a run that had lost its lease. */
  staleAccepted: number;
  /** User-visible busy/locked errors. */
  busy: number;
  /** Invocations with no outcome (the process died first). */
  unknown: number;
  /**
   * Pairs of handler runs of one task that overlapped in time (allowed once a lease is lost:
   * at-least-once; a symptom when leases are lost without a crash).
   */
  overlapping: number;
}

/** Parses JSON lines, skipping a torn last line (a killed writer). */
export function parseLines(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as HistoryEvent);
    } catch {
      // a line cut by SIGKILL
    }
  }
  return events;
}

/** How to count a history. */
export interface AnalyzeOptions {
  /** The statuses an acknowledged task may end in. @default {["completed"]} */
  finalStatuses?: readonly string[];
  /** Only these acknowledged ids must reach `finalStatuses` (the others only exist). */
  mustFinish?: (id: number) => boolean;
}

interface Run {
  startedAt: number;
  validUntil: number;
  claims: number;
}

/** Counts `events` against the final `rows` (see the module doc for each counter). */
export function analyze(
  events: readonly HistoryEvent[],
  rows: ReadonlyMap<number, FinalRow>,
  options: AnalyzeOptions = {},
): Counts {
  const finals = options.finalStatuses ?? ["completed"];
  const counts: Counts = {
    operations: 0,
    lost: 0,
    duplicated: 0,
    staleAccepted: 0,
    busy: 0,
    unknown: 0,
    overlapping: 0,
  };
  const runKey = (id: number, attempt: number) => `${id}:${attempt}`;
  const runs = new Map<string, Run>();
  const acked: { id: number; name?: string | undefined }[] = [];
  const outcomes = new Set<string>();
  for (const e of events) {
    if (e.type === "invoke") counts.operations++;
    if (e.kind === "busy" && (e.type === "fail" || e.type === "info")) counts.busy++;
    if (e.type === "ok" || e.type === "fail") outcomes.add(`${e.pid}:${e.op}:${e.key ?? e.id}`);
    if (e.op === "enqueue" && e.type === "ok" && e.id !== undefined) {
      acked.push({ id: e.id, name: e.name });
    }
    if (e.op === "claim" && e.type === "ok" && e.id !== undefined && e.attempt !== undefined) {
      counts.operations++; // a claim's invoke names no task: count the runs it returned
      const run = runs.get(runKey(e.id, e.attempt));
      if (run) run.claims++;
      else {
        runs.set(runKey(e.id, e.attempt), {
          startedAt: e.startedAt ?? e.t,
          validUntil: e.leaseUntil ?? e.t,
          claims: 1,
        });
      }
    }
  }
  for (const e of events) {
    if (e.type !== "invoke" || e.op === "claim") continue;
    if (!outcomes.has(`${e.pid}:${e.op}:${e.key ?? e.id}`)) counts.unknown++;
  }
  // A run's lease: extended by heartbeats, ended by its finish or a lost-lease answer.
  const endOf = new Map<string, number>();
  for (const e of events) {
    if (e.id === undefined || e.attempt === undefined) continue;
    const key = runKey(e.id, e.attempt);
    const run = runs.get(key);
    if (!run) continue;
    if (e.op === "heartbeat" && e.type === "ok" && e.leaseUntil !== undefined) {
      run.validUntil = Math.max(run.validUntil, e.leaseUntil);
    }
    const ends = ((e.op === "complete" || e.op === "fail" || e.op === "release") &&
      e.type === "invoke") || (e.type === "fail" && e.kind === "lease");
    if (ends) endOf.set(key, Math.min(endOf.get(key) ?? Infinity, e.t));
  }
  const byTask = new Map<number, { attempt: number; run: Run }[]>();
  for (const [key, run] of runs) {
    const [id, attempt] = key.split(":").map(Number) as [number, number];
    if (!byTask.has(id)) byTask.set(id, []);
    byTask.get(id)!.push({ attempt, run });
    if (run.claims > 1) counts.duplicated += run.claims - 1;
  }
  for (const [id, list] of byTask) {
    list.sort((a, b) => a.attempt - b.attempt);
    for (let j = 1; j < list.length; j++) {
      const later = list[j]!;
      const earlier = list.slice(0, j).some(({ attempt, run }) => {
        const end = Math.min(run.validUntil, endOf.get(runKey(id, attempt)) ?? Infinity);
        return later.run.startedAt < end;
      });
      if (earlier) counts.duplicated++;
    }
  }
  // Stale acknowledgements: from the history, and from the results the rows carry.
  const stale = new Set<string>();
  for (const e of events) {
    if ((e.op !== "complete" && e.op !== "fail") || e.type !== "ok") continue;
    if (e.id === undefined || e.attempt === undefined) continue;
    const later = (byTask.get(e.id) ?? []).some(({ attempt, run }) =>
      attempt > e.attempt! && run.startedAt < e.t
    );
    if (later) stale.add(runKey(e.id, e.attempt));
  }
  for (const row of rows.values()) {
    const by = row.result as { attempt?: unknown } | null;
    if (row.status !== "completed" || typeof by?.attempt !== "number") continue;
    if (by.attempt !== row.attempts) stale.add(runKey(row.id, by.attempt));
  }
  counts.staleAccepted = stale.size;
  counts.overlapping = overlaps(events);
  for (const { id, name } of acked) {
    const row = rows.get(id);
    const mustFinish = options.mustFinish?.(id) ?? true;
    // an id that holds another task is a lost enqueue too (an acknowledgement of nothing)
    const other = name !== undefined && row?.name !== undefined && row.name !== name;
    if (!row || other || (mustFinish && !finals.includes(row.status))) counts.lost++;
  }
  return counts;
}

/** Pairs of handler runs (`run` invoke → ok, by id) of one task that overlapped in time. */
function overlaps(events: readonly HistoryEvent[]): number {
  const open = new Map<string, number>();
  const spans = new Map<number, [number, number][]>();
  for (const e of events) {
    if (e.op !== "run" || e.id === undefined) continue;
    const key = `${e.pid}:${e.id}:${e.attempt}`;
    if (e.type === "invoke") open.set(key, e.t);
    else if (e.type === "ok" && open.has(key)) {
      if (!spans.has(e.id)) spans.set(e.id, []);
      spans.get(e.id)!.push([open.get(key)!, e.t]);
    }
  }
  let count = 0;
  for (const list of spans.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [a, b] = [list[i]!, list[j]!];
        if (a[0] < b[1] && b[0] < a[1]) count++;
      }
    }
  }
  return count;
}

/** Adds counts up. */
export function addCounts(a: Counts, b: Counts): Counts {
  return {
    operations: a.operations + b.operations,
    lost: a.lost + b.lost,
    duplicated: a.duplicated + b.duplicated,
    staleAccepted: a.staleAccepted + b.staleAccepted,
    busy: a.busy + b.busy,
    unknown: a.unknown + b.unknown,
    overlapping: a.overlapping + b.overlapping,
  };
}

/** Counts with every counter 0. */
export function zeroCounts(): Counts {
  return {
    operations: 0,
    lost: 0,
    duplicated: 0,
    staleAccepted: 0,
    busy: 0,
    unknown: 0,
    overlapping: 0,
  };
}

/**
 * The class of a failure, for the counters: a busy or locked database (a `StorageError` with
 * code `busy`, or a raw driver error whose code or message says SQLITE_BUSY / locked), a lost
 * lease, bad input, a full disk, corruption, or anything else.
 */
export function errorKind(error: unknown): string {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown } | null;
  const name = typeof e?.name === "string" ? e.name : "";
  const code = typeof e?.code === "string" ? e.code : "";
  if (name === "StorageError" && code) return code;
  if (name === "LeaseLostError" || name === "TaskStateError" || name === "TaskNotFoundError") {
    return "lease";
  }
  if (name === "ValidationError") return "validation";
  // Raw driver errors have no class of their own to match: their code, then their text.
  const text = `${code} ${typeof e?.message === "string" ? e.message : String(error)}`;
  if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked|database is busy/i.test(text)) return "busy";
  if (/SQLITE_FULL|database or disk is full/i.test(text)) return "full";
  if (/SQLITE_CORRUPT|SQLITE_NOTADB|malformed|not a database/i.test(text)) return "corrupt";
  if (e?.cause !== undefined && e.cause !== error) {
    const inner = errorKind(e.cause);
    if (inner !== "other") return inner;
  }
  return "other";
}
