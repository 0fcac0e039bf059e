/**
 * The conformance suite's plumbing: what an engine provides ({@linkcode ConformanceEngine}), the
 * per-test context that opens queues on a fake clock and closes them afterwards
 * ({@linkcode Harness}), and the registrar the case files call ({@linkcode Suite}).
 *
 * @module
 */

import { test } from "node:test";
import type { OpenOptions, TaskQueue } from "../../mod.ts";
import { FakeClock } from "../_helpers.ts";

/**
 * An engine under test: how to open a fresh queue on it and, where its storage outlives a
 * connection, how to open the same storage again.
 */
export interface ConformanceEngine {
  /** Shown in every test's path and in skip reasons: `node:sqlite`, `durable-object` … */
  name: string;
  /** Opens a queue on fresh, empty storage, with these options. */
  open(options?: OpenOptions): Promise<TaskQueue>;
  /**
   * Opens a new queue on `queue`'s storage: a new connection, whether `queue` is still open (a
   * second process) or closed (a restart). Without it, tests that need it are skipped.
   */
  reopen?(queue: TaskQueue, options?: OpenOptions): Promise<TaskQueue>;
  /**
   * Runs SQL on `queue`'s storage through a second connection, behind the queue's back (as
   * another program, or damage, would change it). Without it, tests that need it are skipped.
   */
  writeRaw?(queue: TaskQueue, sql: string): void | Promise<void>;
  /** Runs after each test, once its queues are closed: remove what `open` created. */
  cleanup?(): void | Promise<void>;
  /** Tests this engine skips: test name → reason. A name that is not a test is an error. */
  skip?: Record<string, string>;
}

/** Options every queue of the suite gets unless a test says otherwise: exact retry delays. */
export const DEFAULT_BACKOFF = { baseMs: 1000, factor: 2, jitter: 0 } as const;

/** Open options where `undefined` means "leave the suite's default out". */
export type HarnessOptions = { [K in keyof OpenOptions]?: OpenOptions[K] | undefined };

/** One test's context: a fake clock, and queues opened on it that the suite closes afterwards. */
export class Harness {
  /** The clock of every queue this test opens; move it by hand. */
  readonly clock: FakeClock = new FakeClock();
  readonly #engine: ConformanceEngine;
  readonly #queues: TaskQueue[] = [];

  /**
   * A context for one test of `engine`.
   *
   * @param engine The engine.
   */
  constructor(engine: ConformanceEngine) {
    this.#engine = engine;
  }

  /**
   * Opens a queue on fresh storage, on this test's clock, with jitter-free backoff. An option set
   * to `undefined` is removed (`{ backoff: undefined }` gives the queue's default backoff).
   *
   * @param options More options.
   * @returns The queue.
   */
  async open(options: HarnessOptions = {}): Promise<TaskQueue> {
    const queue = await this.#engine.open(this.#options(options));
    this.#queues.push(queue);
    return queue;
  }

  /**
   * Opens `queue`'s storage again (see {@linkcode ConformanceEngine.reopen}).
   *
   * @param queue A queue this test opened, open or closed.
   * @param options More options.
   * @returns The new queue.
   */
  async reopen(queue: TaskQueue, options: HarnessOptions = {}): Promise<TaskQueue> {
    if (!this.#engine.reopen) throw new Error(`engine ${this.#engine.name} has no reopen()`);
    const again = await this.#engine.reopen(queue, this.#options(options));
    this.#queues.push(again);
    return again;
  }

  /**
   * Runs SQL on `queue`'s storage behind its back (see {@linkcode ConformanceEngine.writeRaw}).
   *
   * @param queue A queue this test opened.
   * @param sql The statements.
   */
  async writeRaw(queue: TaskQueue, sql: string): Promise<void> {
    if (!this.#engine.writeRaw) throw new Error(`engine ${this.#engine.name} has no writeRaw()`);
    await this.#engine.writeRaw(queue, sql);
  }

  /** Closes every queue the test opened, then runs the engine's cleanup. */
  async dispose(): Promise<void> {
    try {
      for (const queue of this.#queues) await queue.close();
    } finally {
      await this.#engine.cleanup?.();
    }
  }

  #options(options: HarnessOptions): OpenOptions {
    const all: Record<string, unknown> = {
      clock: this.clock.fn,
      backoff: DEFAULT_BACKOFF,
      ...options,
    };
    for (const key of Object.keys(all)) if (all[key] === undefined) delete all[key];
    return all as OpenOptions;
  }
}

/** What a test needs beyond a fresh queue. */
export interface CaseOptions {
  /**
   * `"reopen"`: the engine must open the same storage again; `"writeRaw"`: it must write to the
   * storage behind the queue's back.
   */
  needs?: "reopen" | "writeRaw";
}

/** A test body. */
export type CaseBody = (h: Harness) => Promise<void>;

/** The registrar a case file gets: `suite.test(name, body)` defines one conformance test. */
export interface Suite {
  /** The engine under test. */
  readonly engine: ConformanceEngine;
  /**
   * Defines a test. Its name is its key in {@linkcode ConformanceEngine.skip}, so names are
   * unique across the suite.
   */
  test(name: string, body: CaseBody, options?: CaseOptions): void;
}

/** A case file: registers its tests. */
export type CaseFile = (suite: Suite) => void;

/** The names a case file defines, without registering anything. */
export function caseNames(file: CaseFile, engine: ConformanceEngine): string[] {
  const names: string[] = [];
  file({ engine, test: (name) => void names.push(name) });
  return names;
}

/** A suite whose tests are registered with node:test, each skipped when the engine says so. */
export function nodeTestSuite(engine: ConformanceEngine): Suite {
  return {
    engine,
    test(name, body, options = {}) {
      let reason = engine.skip?.[name];
      if (reason === undefined && options.needs === "reopen" && !engine.reopen) {
        reason = "it cannot open the same storage twice (no reopen())";
      }
      if (reason === undefined && options.needs === "writeRaw" && !engine.writeRaw) {
        reason = "its storage cannot be written behind the queue's back (no writeRaw())";
      }
      if (reason !== undefined) {
        const skip = `engine ${engine.name}: ${reason}`;
        console.log(`SKIP conformance "${name}": ${skip}`);
        test(name, { skip }, () => {});
        return;
      }
      test(name, async () => {
        const harness = new Harness(engine);
        try {
          await body(harness);
        } finally {
          await harness.dispose();
        }
      });
    },
  };
}
