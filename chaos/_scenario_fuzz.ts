/**
 * Scenario 5: bad-input fuzz of `enqueue`, tens of thousands of inputs from fast-check (lone
 * surrogates, NUL, -0, NaN, 1e309, BigInt, Proxies, throwing getters, `__proto__` keys, wrong
 * types), counting crashes (a throw that is not a ValidationError/TypeError/RangeError, or the
 * input's own getter error), partial writes (a rejected call that changed the row count) and
 * altered values (an accepted call whose stored task differs from the input after a JSON round
 * trip, or a unique key answered with another key's task).
 *
 * @module
 */

import fc from "fast-check";
import { join } from "node:path";
import { type EnqueueOptions, TaskQueue } from "../mod.ts";
import { finalState, rawDb } from "./_db.ts";
import { zeroCounts } from "./_history.ts";
import type { Scenario, ScenarioResult } from "./_scenario.ts";

/** What the input's own throwing getters throw (propagating it is not a crash). */
class GetterBoom extends Error {
  constructor() {
    super("getter boom");
    this.name = "GetterBoom";
  }
}

const nastyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    "\uD800",
    "a\uDC00b",
    "\uDBFF\uDFFF",
    "a\u0000b",
    "\u0000",
    "",
    " ",
    "__proto__",
    "constructor",
    "x".repeat(5000),
    "\u202E\uFEFF",
  ),
);

const nastyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, NaN, 1e309, -1e309, 2 ** 53, 2 ** 53 + 2, 0.5, 1, 4, 5, -1),
);

function throwingGetter(): Record<string, unknown> {
  return {
    get value() {
      throw new GetterBoom();
    },
  };
}

const exotic = fc.oneof(
  fc.bigInt(),
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.constant(Symbol("s")),
  fc.constant(() => 1),
  fc.constant(new Date(0)),
  fc.constant(new Date(NaN)),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')),
  fc.constant(new Proxy({}, { get: () => 1 })),
  fc.constant(
    new Proxy({}, {
      ownKeys: () => {
        throw new GetterBoom();
      },
    }),
  ),
  fc.constant(0).map(throwingGetter),
  fc.constant(0).map(() => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    return circular;
  }),
);

const nasty = fc.oneof(nastyString, nastyNumber, exotic);
const payload = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nasty,
  fc.dictionary(nastyString, nasty, { maxKeys: 3 }),
  fc.array(nasty, { maxLength: 3 }),
);

/** One enqueue input: mostly plausible objects with one or more bad fields. */
const input = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.oneof({ weight: 12, arbitrary: nastyString }, nasty),
      taskType: fc.oneof({ weight: 12, arbitrary: nastyString }, nasty),
      payload: fc.oneof({ weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, payload),
      priority: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom(1, 2, 3, 4) },
        nastyNumber,
        nasty,
      ),
      maxRetries: fc.oneof({ weight: 12, arbitrary: fc.nat(10) }, nastyNumber, nasty),
      uniqueKey: fc.oneof({ weight: 12, arbitrary: nastyString }, nasty),
      timeoutMs: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 100_000 }) }, nasty),
      scheduledAt: fc.oneof({ weight: 3, arbitrary: fc.nat() }, nastyNumber, exotic),
    }, { requiredKeys: [] }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(nastyString, nastyString).map(([name, taskType]) =>
      new Proxy({ name, taskType }, {
        get(target, key) {
          if (key === "payload") throw new GetterBoom();
          return Reflect.get(target, key);
        },
      })
    ),
  },
  { weight: 1, arbitrary: nasty },
);

/** The input's fields after a JSON round trip (throws when the input cannot be read). */
function expected(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["name", "taskType", "priority", "maxRetries", "uniqueKey", "timeoutMs"]) {
    if (value[key] !== undefined) out[key] = value[key];
  }
  if (value.payload !== undefined) out.payload = JSON.parse(JSON.stringify(value.payload));
  return out;
}

/** Deep equality of JSON values (`Object.is` for leaves apart from 0 / -0). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length &&
    ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** 5. Bad-input fuzz. */
export const fuzz: Scenario = {
  id: "fuzz",
  title: "5. bad-input fuzz",
  async run(ctx): Promise<ScenarioResult> {
    const path = join(ctx.dir, "fuzz.db");
    const queue = await TaskQueue.open(path);
    const raw = await rawDb(path);
    const count = () => Number(raw.prepare("SELECT count(*) AS n FROM tasks").get()!.n);
    const n = ctx.quick ? 20_000 : 100_000;
    const seed = Date.now() % 1_000_000;
    const counts = zeroCounts();
    let accepted = 0;
    let rejected = 0;
    const crashes = new Map<string, number>();
    const altered = new Map<string, number>();
    let partial = 0;
    let unreadable = 0;
    let rows = 0;
    let maxId = 0;
    const keys = new Map<number, unknown>();
    const bump = (map: Map<string, number>, what: string) =>
      map.set(what, (map.get(what) ?? 0) + 1);
    try {
      for (const value of fc.sample(input, { numRuns: n, seed })) {
        counts.operations++;
        let id: number;
        try {
          id = await queue.enqueue(value as EnqueueOptions);
        } catch (error) {
          rejected++;
          const ok = error instanceof TypeError || error instanceof RangeError ||
            error instanceof GetterBoom;
          if (!ok) bump(crashes, String((error as Error)?.name ?? typeof error));
          if (count() !== rows) {
            partial++;
            rows = count();
          }
          continue;
        }
        accepted++;
        const stored = await queue.getTask(id);
        if (!stored) {
          counts.lost++;
          continue;
        }
        let want: Record<string, unknown>;
        try {
          want = expected(value as Record<string, unknown>);
        } catch {
          unreadable++;
          continue;
        }
        if (id <= maxId) {
          // an existing id: only a live task with the same unique key may answer
          if (want.uniqueKey === undefined || keys.get(id) !== want.uniqueKey) {
            bump(altered, "uniqueKey (another task's id)");
          }
          continue;
        }
        maxId = id;
        rows++;
        keys.set(id, stored.uniqueKey);
        for (const [key, value] of Object.entries(want)) {
          if (!same((stored as unknown as Record<string, unknown>)[key], value)) bump(altered, key);
        }
      }
    } finally {
      raw.close();
      await queue.close();
    }
    const state = await finalState(path);
    const list = (map: Map<string, number>) =>
      [...map].map(([what, times]) => `${what} x${times}`).join(", ");
    const crashed = [...crashes.values()].reduce((a, b) => a + b, 0);
    const changed = [...altered.values()].reduce((a, b) => a + b, 0);
    const violations = [
      ...(crashed ? [`${crashed} crashes (${list(crashes)})`] : []),
      ...(partial ? [`${partial} partial writes`] : []),
      ...(changed ? [`${changed} altered values (${list(altered)})`] : []),
    ];
    return {
      runtimes: ctx.runtimes[0]!,
      counts,
      integrity: state.problems.length,
      notes: [
        `seed ${seed}: ${accepted} accepted, ${rejected} rejected, ${unreadable} unreadable inputs`,
      ],
      violations,
    };
  },
};
