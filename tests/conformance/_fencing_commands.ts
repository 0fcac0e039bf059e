/**
 * The commands of the fencing property (`fencing_model.ts`), one class per verb, each checking the
 * queue's answer against the model and then the whole model ({@linkcode agree}); and the mix that
 * fast-check draws them from.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { type Task, TaskPriority, TaskStatus } from "../../mod.ts";
import {
  agree,
  claimOrder,
  type Command,
  current,
  expired,
  type Model,
  type ModelTask,
  type Real,
  recovered,
  refusedAsLost,
  refusedByState,
  task,
  type WorkerId,
  WORKERS,
} from "./_fencing_model.ts";

/** A command that checks the whole model after it ran. */
abstract class Step implements Command {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await this.apply(m, r);
    await agree(m, r);
  }
  abstract apply(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

class Enqueue extends Step {
  readonly priority: TaskPriority;
  readonly delayMs: number;
  readonly maxRetries: number;
  constructor(priority: TaskPriority, delayMs: number, maxRetries: number) {
    super();
    this.priority = priority;
    this.delayMs = delayMs;
    this.maxRetries = maxRetries;
  }
  async apply(m: Model, r: Real) {
    const id = await r.queue.enqueue({
      name: "job",
      taskType: "t",
      priority: this.priority,
      maxRetries: this.maxRetries,
      ...(this.delayMs > 0 ? { scheduledAt: m.now + this.delayMs } : {}),
    });
    assert.ok(m.tasks.every((t) => t.id < id), `enqueue returns a new, higher id (${id})`);
    m.tasks.push({
      id,
      priority: this.priority,
      maxRetries: this.maxRetries,
      status: TaskStatus.PENDING,
      attempts: 0,
      retryCount: 0,
      scheduledAt: m.now + this.delayMs,
      workerId: null,
      leaseMs: null,
      leaseExpiresAt: null,
      cancelRequested: false,
    });
  }
  toString() {
    return `enqueue(priority ${this.priority}, in ${this.delayMs} ms, maxRetries ${this.maxRetries})`;
  }
}

class Dequeue extends Step {
  readonly worker: WorkerId;
  readonly limit: number;
  readonly leaseMs: number;
  constructor(worker: WorkerId, limit: number, leaseMs: number) {
    super();
    this.worker = worker;
    this.limit = limit;
    this.leaseMs = leaseMs;
  }
  async apply(m: Model, r: Real) {
    const leased = new Set(
      m.tasks.filter((t) => t.status === TaskStatus.RUNNING && t.leaseExpiresAt! > m.now)
        .map((t) => t.id),
    );
    const lapsed = expired(m);
    const options = { workerId: this.worker, leaseMs: this.leaseMs };
    const claimed = this.limit === 1
      ? [await r.queue.dequeue(options)].filter((t) => t !== null)
      : await r.queue.dequeueMany(this.limit, options);
    for (const t of claimed) {
      assert.ok(!leased.has(t.id), `task ${t.id} claimed while another worker's lease is valid`);
    }
    for (const t of lapsed) recovered(t, await r.queue.getTask(t.id));
    const due = m.tasks.filter((t) => t.status === TaskStatus.PENDING && t.scheduledAt <= m.now)
      .toSorted(claimOrder).slice(0, this.limit);
    assert.deepEqual(claimed.map((t) => t.id), due.map((t) => t.id), "the due tasks, in order");
    for (const claim of claimed) {
      const t = task(m, claim.id);
      assert.equal(claim.status, TaskStatus.RUNNING);
      assert.equal(claim.attempts, t.attempts + 1, "a claim is a new attempt (a new token)");
      assert.equal(claim.workerId, this.worker);
      assert.equal(claim.leaseExpiresAt, m.now + this.leaseMs);
      Object.assign(t, {
        status: TaskStatus.RUNNING,
        attempts: claim.attempts,
        workerId: this.worker,
        leaseMs: this.leaseMs,
        leaseExpiresAt: m.now + this.leaseMs,
      });
      m.claims.push(claim);
    }
  }
  toString() {
    return `dequeue(${this.worker}, limit ${this.limit}, lease ${this.leaseMs} ms)`;
  }
}

/**
 * A transition by a worker through one of the claimed copies it kept, current or stale: the
 * `pick`-th latest of all claims so far (each claim is its worker's).
 */
abstract class ThroughClaim extends Step {
  readonly pick: number;
  /** Which claim it went through, once it ran: for the report. */
  #through = "";
  constructor(pick: number) {
    super();
    this.pick = pick;
  }
  override check(m: Readonly<Model>) {
    return m.claims.length > 0;
  }
  async apply(m: Model, r: Real) {
    const claim = m.claims[m.claims.length - 1 - (this.pick % m.claims.length)]!;
    this.#through = ` = ${claim.workerId}'s claim of task ${claim.id}, attempt ${claim.attempts}`;
    if (current(m, claim)) await this.holder(m, r, claim, task(m, claim.id));
    else await refusedAsLost(r, claim, () => this.call(r, claim));
  }
  /** The transition, as the worker calls it. */
  abstract call(r: Real, claim: Task): Promise<Task>;
  /** The current holder's transition: it must succeed; update the model. */
  abstract holder(m: Model, r: Real, claim: Task, t: ModelTask): Promise<void>;
  label(verb: string) {
    return `${verb}(claim #${this.pick}${this.#through})`;
  }
}

class Heartbeat extends ThroughClaim {
  call(r: Real, claim: Task) {
    return r.queue.heartbeat(claim);
  }
  async holder(m: Model, r: Real, claim: Task, t: ModelTask) {
    const beat = await this.call(r, claim);
    assert.equal(beat.attempts, claim.attempts, "a heartbeat keeps the token");
    assert.equal(beat.leaseExpiresAt, m.now + t.leaseMs!, "extended by the claimed duration");
    t.leaseExpiresAt = m.now + t.leaseMs!;
  }
  toString() {
    return this.label("heartbeat");
  }
}

class Complete extends ThroughClaim {
  call(r: Real, claim: Task) {
    return r.queue.completeTask(claim, { by: claim.workerId });
  }
  async holder(_m: Model, r: Real, claim: Task, t: ModelTask) {
    const done = await this.call(r, claim);
    assert.equal(done.status, TaskStatus.COMPLETED);
    assert.deepEqual(done.result, { by: claim.workerId });
    Object.assign(t, { status: TaskStatus.COMPLETED, leaseExpiresAt: null });
  }
  toString() {
    return this.label("complete");
  }
}

class Fail extends ThroughClaim {
  readonly retry: boolean;
  constructor(pick: number, retry: boolean) {
    super(pick);
    this.retry = retry;
  }
  call(r: Real, claim: Task) {
    return r.queue.failTask(
      claim,
      `failed by ${claim.workerId}`,
      this.retry ? {} : { retry: false },
    );
  }
  async holder(m: Model, r: Real, claim: Task, t: ModelTask) {
    const after = await this.call(r, claim);
    t.retryCount += 1;
    t.status = t.cancelRequested
      ? TaskStatus.CANCELLED
      : !this.retry || t.retryCount > t.maxRetries
      ? TaskStatus.FAILED
      : TaskStatus.PENDING;
    t.leaseExpiresAt = null;
    assert.equal(after.status, t.status);
    if (t.status === TaskStatus.PENDING) {
      assert.ok(after.scheduledAt >= m.now, "a retry is not due before the failure");
      t.scheduledAt = after.scheduledAt;
    }
  }
  toString() {
    return this.label(this.retry ? "fail" : "failForGood");
  }
}

class Release extends ThroughClaim {
  call(r: Real, claim: Task) {
    return r.queue.release(claim);
  }
  async holder(m: Model, r: Real, claim: Task, t: ModelTask) {
    const back = await this.call(r, claim);
    assert.equal(back.status, TaskStatus.PENDING);
    assert.equal(back.attempts, claim.attempts, "a release counts no attempt");
    Object.assign(t, { status: TaskStatus.PENDING, scheduledAt: m.now, leaseExpiresAt: null });
  }
  toString() {
    return this.label("release");
  }
}

class Recover extends Step {
  async apply(m: Model, r: Real) {
    const lapsed = expired(m);
    assert.equal(await r.queue.recover(), lapsed.length, "recover() takes back every lapsed lease");
    for (const t of lapsed) recovered(t, await r.queue.getTask(t.id));
  }
  toString() {
    return "recover()";
  }
}

/** A transition by task id (an operator's, not a worker's). */
abstract class ById extends Step {
  readonly pick: number;
  constructor(pick: number) {
    super();
    this.pick = pick;
  }
  override check(m: Readonly<Model>) {
    return m.tasks.length > 0;
  }
  target(m: Model): ModelTask {
    return m.tasks[this.pick % m.tasks.length]!;
  }
}

class Cancel extends ById {
  async apply(m: Model, r: Real) {
    const t = this.target(m);
    if (t.status === TaskStatus.PENDING) {
      assert.equal((await r.queue.cancelTask(t.id)).status, TaskStatus.CANCELLED);
      t.status = TaskStatus.CANCELLED;
    } else if (t.status === TaskStatus.RUNNING) {
      const marked = await r.queue.cancelTask(t.id);
      assert.equal(marked.status, TaskStatus.RUNNING, "a running task is only marked");
      assert.notEqual(marked.cancelRequestedAt, null);
      t.cancelRequested = true;
    } else {
      await refusedByState(r, t.id, () => r.queue.cancelTask(t.id));
    }
  }
  toString() {
    return `cancel(task #${this.pick})`;
  }
}

class Retry extends ById {
  async apply(m: Model, r: Real) {
    const t = this.target(m);
    if (t.status === TaskStatus.FAILED || t.status === TaskStatus.CANCELLED) {
      const again = await r.queue.retryTask(t.id);
      assert.equal(again.status, TaskStatus.PENDING);
      assert.equal(again.attempts, t.attempts, "a redrive is no claim: old claims stay stale");
      Object.assign(t, {
        status: TaskStatus.PENDING,
        retryCount: 0,
        scheduledAt: m.now,
        cancelRequested: false,
      });
    } else {
      await refusedByState(r, t.id, () => r.queue.retryTask(t.id));
    }
  }
  toString() {
    return `retry(task #${this.pick})`;
  }
}

class Advance extends Step {
  readonly ms: number;
  constructor(ms: number) {
    super();
    this.ms = ms;
  }
  apply(m: Model, r: Real) {
    r.clock.advance(this.ms);
    m.now += this.ms;
    return Promise.resolve();
  }
  toString() {
    return `advance(${this.ms} ms)`;
  }
}

/** An enqueue: mostly NORMAL priority (so that due times and ids break ties), some due later. */
export function enqueueCommand(): fc.Arbitrary<Command> {
  return fc.tuple(
    fc.constantFrom(TaskPriority.NORMAL, TaskPriority.NORMAL, TaskPriority.LOW, TaskPriority.HIGH),
    fc.constantFrom(0, 0, 30, 120),
    fc.integer({ min: 0, max: 2 }),
  ).map(([priority, delay, retries]) => new Enqueue(priority, delay, retries));
}

/** The command mix: enqueues and claims often, every other verb now and then. */
export function commandArbitraries(): fc.Arbitrary<Command>[] {
  const worker = fc.constantFrom(...WORKERS);
  const pick = fc.nat({ max: 63 });
  const enqueue = enqueueCommand();
  const dequeue = fc.tuple(worker, fc.constantFrom(1, 1, 2), fc.constantFrom(50, 100))
    .map(([w, limit, lease]) => new Dequeue(w, limit, lease));
  // Steps around the lease lengths (50 and 100 ms), to land on, before and after each expiry.
  const advance = fc.constantFrom(1, 10, 25, 49, 50, 51, 99, 100, 101, 150)
    .map((ms) => new Advance(ms));
  const through = <C extends Command>(make: (pick: number) => C) => pick.map(make);
  return [
    enqueue,
    enqueue,
    dequeue,
    dequeue,
    dequeue,
    through((p) => new Heartbeat(p)),
    through((p) => new Heartbeat(p)),
    through((p) => new Complete(p)),
    through((p) => new Complete(p)),
    fc.tuple(pick, fc.boolean()).map(([p, retry]) => new Fail(p, retry)),
    fc.tuple(pick, fc.boolean()).map(([p, retry]) => new Fail(p, retry)),
    through((p) => new Release(p)),
    fc.constant(new Recover()),
    pick.map((p) => new Cancel(p)),
    pick.map((p) => new Retry(p)),
    advance,
    advance,
    advance,
  ];
}
