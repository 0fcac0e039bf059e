/**
 * Runs the conformance suite (`tests/conformance/`) once per engine: `node:sqlite`, `bun:sqlite`
 * (on Bun only) and the Durable Object driver over a fake Durable Object storage. Each test gets
 * its own temporary file, so `reopen` opens the same storage again and `writeRaw` writes to it
 * through a second node:sqlite connection; the file is removed after the test. With
 * `TASKLITE_PG_URL` set, it runs for PostgreSQL too, each test on a schema of its own
 * (`tests/conformance/_postgres.ts`); without it, that engine is skipped, saying so.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type OpenOptions, TaskQueue } from "../mod.ts";
import { wrap as durableObjectDriver } from "../src/drivers/durable_object.ts";
import { type ConformanceEngine, runConformance } from "./conformance/mod.ts";
import {
  type FakeDurableObjectStorage,
  fakeDurableObjectStorage,
} from "./conformance/_durable_object_storage.ts";
import { onPostgres } from "./conformance/_postgres.ts";
import { PLATFORM_CHECKS } from "./conformance/_platform_checks.ts";
import { RUNTIME, tempDir } from "./_helpers.ts";
import process from "node:process";

/**
 * An engine whose storage is a file: `open` makes a temporary file per call, `reopen` connects
 * to the same file again, `writeRaw` writes to it behind the queue's back, `cleanup` closes what
 * `connect` registered and removes the files.
 */
function onFiles(
  name: string,
  connect: (
    path: string,
    options: OpenOptions,
    onCleanup: (close: () => void) => void,
  ) => Promise<TaskQueue>,
  skip: Record<string, string> = {},
): ConformanceEngine {
  const paths = new WeakMap<TaskQueue, string>();
  const dirs: ReturnType<typeof tempDir>[] = [];
  const closers: (() => void)[] = [];
  const at = async (path: string, options: OpenOptions) => {
    const queue = await connect(path, options, (close) => void closers.push(close));
    paths.set(queue, path);
    return queue;
  };
  return {
    name,
    open(options = {}) {
      const tmp = tempDir();
      dirs.push(tmp);
      return at(tmp.file("tasks.db"), options);
    },
    reopen(queue, options = {}) {
      const path = paths.get(queue);
      if (path === undefined) throw new Error(`${name}: reopen() of a queue it did not open`);
      return at(path, options);
    },
    async writeRaw(queue, sql) {
      const path = paths.get(queue);
      if (path === undefined) throw new Error(`${name}: writeRaw() on a queue it did not open`);
      const { DatabaseSync } = await import("node:sqlite");
      const raw = new DatabaseSync(path);
      try {
        raw.exec("PRAGMA busy_timeout = 5000");
        raw.exec(sql);
      } finally {
        raw.close();
      }
    },
    cleanup() {
      try {
        for (const close of closers.splice(0)) close();
      } finally {
        for (const dir of dirs.splice(0)) dir.cleanup();
      }
    },
    skip,
  };
}

runConformance(onFiles(
  "node:sqlite",
  (path, options) => TaskQueue.open(path, { ...options, driver: "node:sqlite" }),
));

if (RUNTIME === "bun") {
  runConformance(onFiles(
    "bun:sqlite",
    (path, options) => TaskQueue.open(path, { ...options, driver: "bun:sqlite" }),
  ));
} else {
  const reason = `engine bun:sqlite: needs the Bun runtime (running on ${RUNTIME})`;
  console.log(`SKIP conformance: ${reason}`);
  test("conformance: bun:sqlite", { skip: reason }, () => {});
}

runConformance(onFiles(
  "durable-object (fake storage)",
  (path, options, onCleanup) => {
    const storage = fakeDurableObjectStorage(path);
    onCleanup(() => storage.close());
    // As a Durable Object passes it: `ctx.storage` itself (the queue wraps it).
    return TaskQueue.open({ ...options, database: storage });
  },
));

const PG_URL = process.env.TASKLITE_PG_URL;
if (PG_URL) {
  runConformance(onPostgres(PG_URL));
} else {
  const reason = "engine postgres: TASKLITE_PG_URL is not set";
  console.log(`SKIP conformance: ${reason}`);
  test("conformance: postgres", { skip: reason }, () => {});
}

describe("the fake Durable Object storage is as strict as the platform", () => {
  const withStorage = async (body: (storage: FakeDurableObjectStorage) => void | Promise<void>) => {
    const tmp = tempDir();
    const storage = fakeDurableObjectStorage(tmp.file("do.db"));
    try {
      await body(storage);
    } finally {
      storage.close();
      tmp.cleanup();
    }
  };

  // What the fake shares with the platform (the same checks run inside workerd).
  for (const check of PLATFORM_CHECKS) {
    test(
      check.name,
      () => withStorage((storage) => check.run(storage, { compoundLimit: RUNTIME !== "node" })),
    );
  }

  test("unlike the platform, the fake refuses booleans, objects and async transaction callbacks", () =>
    withStorage((storage) => {
      const { sql } = storage;
      sql.exec("CREATE TABLE n (x)");
      // The platform would store these as 'true', NULL, '[object Object]' and a date's text.
      for (const value of [true, undefined, {}, new Date()]) {
        assert.throws(() => sql.exec("INSERT INTO n VALUES (?)", value), TypeError);
      }
      storage.transactionSync(() => {
        sql.exec("INSERT INTO n VALUES (1)");
        storage.transactionSync(() => sql.exec("INSERT INTO n VALUES (2)"));
      });
      assert.throws(() => storage.transactionSync(() => Promise.resolve(1)), /must be synchronous/);
      assert.equal(sql.exec("SELECT count(*) AS c FROM n").one().c, 2);
      assert.equal(storage.counters.transactions, 2, "a nested call is not a new transaction");
    }));

  test("the queue over the driver writes through transactionSync only", () =>
    withStorage(async (storage) => {
      const queue = await TaskQueue.open({ database: durableObjectDriver(storage) });
      await queue.enqueueMany(
        Array.from({ length: 20 }, (_, i) => ({ name: `${i}`, taskType: "t" })),
      );
      const claimed = await queue.dequeueMany(20);
      const before = storage.counters.transactions;
      const results = await queue.completeMany(claimed.map((task) => ({ task })));
      assert.equal(storage.counters.transactions - before, 1, "a batch is one transaction");
      assert.ok(results.every((r) => r.status === "fulfilled"));
      assert.equal((await queue.getQueueStats()).completed, 20);
      await queue.close();
      assert.equal(storage.sql.exec("SELECT count(*) AS n FROM tasks").one().n, 20, "left open");
    }));
});
