import assert from "node:assert/strict";
import { test } from "node:test";
import type { Hono } from "hono";
import type * as v from "valibot";
import { TaskQueue } from "../mod.ts";
import type { QueueApp, QueueSchema } from "../hono.ts";
import { buildQueueApp } from "../src/http/app.ts";
import type * as S from "../src/http/_schemas.ts";

// Compile-time checks (deno check runs them): the declared API types agree with what the app
// infers and with the valibot schemas that validate requests.
type Assignable<A, B> = [A] extends [B] ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// deno-lint-ignore no-explicit-any
type SchemaOf<T> = T extends Hono<any, infer S, any> ? S : never;
type Inferred = SchemaOf<ReturnType<typeof buildQueueApp>>;
type Methods<T> = { [P in keyof T]: keyof T[P] };
type Schema = QueueSchema;
const checks: [
  Same<keyof Inferred, keyof Schema>,
  Same<Methods<Inferred>, Methods<Schema>>,
  Assignable<Schema["/tasks"]["$post"]["input"]["json"], v.InferInput<typeof S.EnqueueBody>>,
  Assignable<
    Schema["/schedules/:name"]["$put"]["input"]["json"],
    v.InferInput<typeof S.ScheduleBody>
  >,
  Assignable<Schema["/worker/claim"]["$post"]["input"]["json"], v.InferInput<typeof S.ClaimBody>>,
  Assignable<
    Schema["/worker/tasks/:id/fail"]["$post"]["input"]["json"],
    v.InferInput<typeof S.FailBody>
  >,
] = [true, true, true, true, true, true];
void (null as unknown as QueueApp);

test("the declared API types agree with the app and its schemas (checked by the compiler)", async () => {
  assert.ok(checks.every(Boolean));
  const queue = await TaskQueue.open(":memory:");
  const app = buildQueueApp(queue, {});
  assert.ok(app.routes.length > 20);
  await queue.close();
});
