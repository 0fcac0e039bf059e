/**
 * The chaos suite's own counting (chaos/_history.ts, chaos/_db.ts) on synthetic histories: each
 * kind of broken guarantee is counted as that kind, and a clean history counts nothing.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openDb } from "../bench/_runtime.ts";
import { TaskQueue } from "../mod.ts";
import { finalState, rowProblems } from "../chaos/_db.ts";
import {
  analyze,
  errorKind,
  type FinalRow,
  type HistoryEvent,
  parseLines,
} from "../chaos/_history.ts";
import { tempDir } from "./_helpers.ts";

type Partial = Omit<HistoryEvent, "pid"> & { pid?: number };

const history = (events: Partial[]): HistoryEvent[] => events.map((e) => ({ pid: 1, ...e }));

const rows = (...list: FinalRow[]) => new Map(list.map((row) => [row.id, row]));

const done = (id: number, attempts = 1, name?: string): FinalRow => ({
  id,
  status: "completed",
  attempts,
  result: { attempt: attempts },
  ...(name ? { name } : {}),
});

const acked = (id: number, name?: string): Partial[] => [
  { t: 1, op: "enqueue", type: "invoke", key: `k${id}` },
  { t: 2, op: "enqueue", type: "ok", key: `k${id}`, id, ...(name ? { name } : {}) },
];

const claim = (id: number, attempt: number, startedAt: number, leaseUntil: number): Partial => ({
  t: startedAt + 1,
  op: "claim",
  type: "ok",
  id,
  attempt,
  startedAt,
  leaseUntil,
});

describe("chaos harness: counting", () => {
  test("a clean history counts nothing", () => {
    const events = history([
      ...acked(1),
      { t: 3, op: "claim", type: "invoke" },
      claim(1, 1, 10, 410),
      { t: 20, op: "complete", type: "invoke", id: 1, attempt: 1 },
      { t: 21, op: "complete", type: "ok", id: 1, attempt: 1 },
    ]);
    const counts = analyze(events, rows(done(1)));
    assert.deepEqual(counts, {
      operations: 4,
      lost: 0,
      duplicated: 0,
      staleAccepted: 0,
      busy: 0,
      unknown: 0,
      overlapping: 0,
    });
  });

  test("an acknowledged task that is missing, unfinished or another task's is lost", () => {
    const events = history([...acked(1), ...acked(2), ...acked(3, "mine"), ...acked(4)]);
    const counts = analyze(
      events,
      rows(
        { id: 2, status: "pending", attempts: 0, result: null },
        done(3, 1, "someone else's"),
        done(4),
      ),
    );
    assert.equal(counts.lost, 3);
    const pendingOk = analyze(
      history(acked(2)),
      rows({ id: 2, status: "pending", attempts: 0, result: null }),
      { finalStatuses: ["pending"] },
    );
    assert.equal(pendingOk.lost, 0);
  });

  test("one id acknowledged to two enqueues of different tasks counts the other as lost", () => {
    const events = history([...acked(7, "a"), ...acked(7, "b")]);
    assert.equal(analyze(events, rows(done(7, 1, "a"))).lost, 1);
  });

  test("an unlogged acknowledgement (enqueue invoked, process killed) is unknown, not lost", () => {
    const events = history([{ t: 1, op: "enqueue", type: "invoke", key: "k1" }]);
    const counts = analyze(events, rows());
    assert.equal(counts.lost, 0);
    assert.equal(counts.unknown, 1);
  });

  test("a claim inside an earlier run's lease is a duplicate; after it expired, not", () => {
    const inside = history([claim(1, 1, 1000, 1400), claim(1, 2, 1200, 1600)]);
    assert.equal(analyze(inside, rows(done(1, 2))).duplicated, 1);
    const after = history([claim(1, 1, 1000, 1400), claim(1, 2, 1500, 1900)]);
    assert.equal(analyze(after, rows(done(1, 2))).duplicated, 0);
  });

  test("a heartbeat extends the lease the duplicate check uses", () => {
    const events = history([
      claim(1, 1, 1000, 1400),
      { t: 1300, op: "heartbeat", type: "invoke", id: 1, attempt: 1 },
      { t: 1301, op: "heartbeat", type: "ok", id: 1, attempt: 1, leaseUntil: 1700 },
      claim(1, 2, 1500, 1900),
    ]);
    assert.equal(analyze(events, rows(done(1, 2))).duplicated, 1);
  });

  test("a run that finished (or saw its lease lost) ends its lease", () => {
    const failed = history([
      claim(1, 1, 1000, 5000),
      { t: 1100, op: "fail", type: "invoke", id: 1, attempt: 1 },
      { t: 1101, op: "fail", type: "ok", id: 1, attempt: 1 },
      claim(1, 2, 1200, 5200),
    ]);
    assert.equal(analyze(failed, rows(done(1, 2))).duplicated, 0);
    const lostLease = history([
      claim(1, 1, 1000, 5000),
      { t: 1100, op: "heartbeat", type: "fail", id: 1, attempt: 1, kind: "lease" },
      claim(1, 2, 1200, 5200),
    ]);
    assert.equal(analyze(lostLease, rows(done(1, 2))).duplicated, 0);
  });

  test("the same lease token claimed twice is a duplicate", () => {
    const events = history([claim(1, 1, 1000, 1400), { ...claim(1, 1, 1000, 1400), pid: 2 }]);
    assert.equal(analyze(events, rows(done(1))).duplicated, 1);
  });

  test("a completion acknowledged after a later claim is a stale completion accepted", () => {
    const events = history([
      claim(1, 1, 1000, 1400),
      claim(1, 2, 1500, 1900),
      { t: 1550, op: "complete", type: "invoke", id: 1, attempt: 1 },
      { t: 1600, op: "complete", type: "ok", id: 1, attempt: 1 },
    ]);
    assert.equal(analyze(events, rows(done(1, 2))).staleAccepted, 1);
    const rejected = history([
      claim(1, 1, 1000, 1400),
      claim(1, 2, 1500, 1900),
      { t: 1550, op: "complete", type: "invoke", id: 1, attempt: 1 },
      { t: 1600, op: "complete", type: "fail", id: 1, attempt: 1, kind: "lease" },
    ]);
    assert.equal(analyze(rejected, rows(done(1, 2))).staleAccepted, 0);
  });

  test("a completed row whose result names an older attempt is stale, counted once", () => {
    const row: FinalRow = { id: 1, status: "completed", attempts: 2, result: { attempt: 1 } };
    assert.equal(analyze([], rows(row)).staleAccepted, 1);
    const events = history([
      claim(1, 1, 1000, 1400),
      claim(1, 2, 1500, 1900),
      { t: 1600, op: "complete", type: "ok", id: 1, attempt: 1 },
    ]);
    assert.equal(analyze(events, rows(row)).staleAccepted, 1);
  });

  test("handler runs of one task that overlap in time are counted, consecutive ones not", () => {
    const runs = (spans: [number, number, number][]) =>
      history(spans.flatMap(([attempt, from, to]) => [
        { t: from, op: "run" as const, type: "invoke" as const, id: 1, attempt },
        { t: to, op: "run" as const, type: "ok" as const, id: 1, attempt },
      ]));
    assert.equal(analyze(runs([[1, 0, 100], [2, 50, 150]]), rows(done(1, 2))).overlapping, 1);
    assert.equal(analyze(runs([[1, 0, 100], [2, 100, 150]]), rows(done(1, 2))).overlapping, 0);
  });

  test("busy failures are counted, other failures are not", () => {
    const events = history([
      { t: 1, op: "enqueue", type: "invoke", key: "a" },
      { t: 2, op: "enqueue", type: "fail", key: "a", kind: "busy" },
      { t: 3, op: "enqueue", type: "invoke", key: "b" },
      { t: 4, op: "enqueue", type: "fail", key: "b", kind: "full" },
      { t: 5, op: "error", type: "info", kind: "busy" },
    ]);
    assert.equal(analyze(events, rows()).busy, 2);
  });

  test("errorKind classifies typed errors by code and raw driver errors by their text", () => {
    const storage = Object.assign(new Error("x"), { name: "StorageError", code: "full" });
    assert.equal(errorKind(storage), "full");
    assert.equal(errorKind(new Error("database is locked")), "busy");
    assert.equal(errorKind(Object.assign(new Error("x"), { code: "SQLITE_BUSY" })), "busy");
    assert.equal(errorKind(Object.assign(new Error("x"), { name: "LeaseLostError" })), "lease");
    assert.equal(errorKind(new Error("x", { cause: new Error("database is locked") })), "busy");
    assert.equal(errorKind(new Error("something else")), "other");
  });

  test("parseLines skips a torn last line", () => {
    const text = `{"t":1,"pid":1,"op":"tick","type":"info"}\n{"t":2,"pid":1,"op":"ti`;
    assert.equal(parseLines(text).length, 1);
  });
});

describe("chaos harness: the file's final state", () => {
  test("rowProblems flags inconsistent rows and passes consistent ones", () => {
    const base = {
      id: 1,
      created_at: 100,
      started_at: 110,
      completed_at: 120,
      lease_expires_at: null,
      attempts: 1,
    };
    assert.deepEqual(rowProblems({ ...base, status: "completed" }), []);
    assert.equal(rowProblems({ ...base, status: "completed", completed_at: null }).length, 1);
    assert.equal(rowProblems({ ...base, status: "running", completed_at: null }).length, 1);
    assert.equal(rowProblems({ ...base, status: "pending", lease_expires_at: 500 }).length, 2);
    assert.equal(rowProblems({ ...base, status: "lost" }).length, 1);
  });

  test("finalState reads a real queue file and reports a broken invariant", async () => {
    const tmp = tempDir();
    try {
      const path = tmp.file("q.db");
      const queue = await TaskQueue.open(path);
      const id = await queue.enqueue({ name: "a", taskType: "t" });
      const task = await queue.dequeue();
      await queue.completeTask(task!, { attempt: task!.attempts });
      await queue.enqueue({ name: "b", taskType: "t" });
      await queue.close();
      const clean = await finalState(path);
      assert.deepEqual(clean.problems, []);
      assert.equal(clean.rows.get(id)?.status, "completed");
      assert.deepEqual(clean.rows.get(id)?.result, { attempt: 1 });
      const db = await openDb(path);
      db.exec("UPDATE tasks SET completed_at = NULL WHERE name = 'a'");
      db.exec("UPDATE task_counts SET count = count + 5 WHERE status = 'completed'");
      db.close();
      const broken = await finalState(path);
      assert.equal(broken.problems.length, 2, broken.problems.join("; "));
    } finally {
      tmp.cleanup();
    }
  });
});
