/**
 * The PostgreSQL queue's default {@linkcode Notifier}: `LISTEN/NOTIFY` on one channel per schema,
 * so that an idle worker on one machine wakes when another machine enqueues, releases, redrives or
 * recovers a task. In process it wakes at once, as {@linkcode LocalNotifier} does; across
 * processes the hints of one turn go out as one `NOTIFY` after the write committed. It `LISTEN`s
 * on postgres.js's dedicated listening connection (`sql.listen`), opened with the queue and
 * `UNLISTEN`ed at close. It stays a hint: a notification lost (a dropped connection, a crash
 * between the commit and the `NOTIFY`) costs a poll interval, never a task.
 *
 * @module
 */

import type { Sql } from "postgres";
import { LocalNotifier, type Notifier, type NotifyListener } from "../notifier.ts";

/** PostgreSQL's longest identifier, in bytes: a longer channel name is refused. */
const MAX_CHANNEL = 63;

/** Above this, a payload names no types (any type): `NOTIFY` takes at most 8,000 bytes. */
const MAX_PAYLOAD = 7_000;

/** What travels in a notification: who sent it, and the task types (empty: any). */
interface Payload {
  /** The sending notifier (its own notifications it has delivered already); absent: anyone's. */
  o?: string;
  t: string[];
}

/**
 * The channel of a schema's queue: `tasklite_<schema>`, or, when that is longer than an
 * identifier may be, `tasklite_` and a hash of the schema.
 *
 * @param schema The queue's schema.
 * @returns The channel name.
 */
export function channelOf(schema: string): string {
  const plain = `tasklite_${schema}`;
  if (plain.length <= MAX_CHANNEL) return plain;
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < schema.length; i++) {
    hash = Math.imul(hash ^ schema.charCodeAt(i), 0x01000193) >>> 0;
  }
  return `tasklite_${schema.slice(0, 40)}_${hash.toString(16)}`;
}

/**
 * The payload of a notification about `types`.
 *
 * @param types The task types (empty: any).
 * @param origin The sender, or `undefined` for one every listener handles (a `NOTIFY` inside a
 * caller's transaction: PostgreSQL delivers it at commit, to this process too).
 */
export function payloadOf(types: Iterable<string>, origin?: string): string {
  const body: Payload = { t: [...types] };
  if (origin !== undefined) body.o = origin;
  const text = JSON.stringify(body);
  if (text.length <= MAX_PAYLOAD) return text;
  return JSON.stringify(origin === undefined ? { t: [] } : { o: origin, t: [] });
}

/** `LISTEN/NOTIFY` on one schema's channel, with in-process delivery. */
export class PostgresNotifier implements Notifier {
  readonly #sql: Sql;
  readonly #channel: string;
  readonly #origin = crypto.randomUUID();
  readonly #local = new LocalNotifier();
  /** The types waiting for this turn's `NOTIFY` (`null`: none waits; empty: any type). */
  #outgoing: Set<string> | null = null;
  #any = false;
  /** The `NOTIFY` in flight, awaited at close. */
  #sending: Promise<unknown> = Promise.resolve();
  #unlisten: (() => Promise<unknown>) | null = null;
  #closed = false;

  private constructor(sql: Sql, channel: string) {
    this.#sql = sql;
    this.#channel = channel;
  }

  /**
   * A notifier listening on `schema`'s channel: it resolves once the `LISTEN` is in place, so
   * that nothing committed after the queue opened is missed.
   *
   * @param sql The queue's client.
   * @param schema The queue's schema.
   * @returns The listening notifier.
   */
  static async start(sql: Sql, schema: string): Promise<PostgresNotifier> {
    const notifier = new PostgresNotifier(sql, channelOf(schema));
    let listening = false;
    const { unlisten } = await sql.listen(
      notifier.#channel,
      (payload) => notifier.#received(payload),
      // Called again after postgres.js re-listens on a new connection: what was sent meanwhile
      // is lost, so every listener looks once.
      () => {
        if (listening) notifier.#local.notify([]);
        listening = true;
      },
    );
    notifier.#unlisten = unlisten;
    return notifier;
  }

  /**
   * Wakes this process's listeners now, and the other processes' after this turn (one `NOTIFY`
   * for every call of the turn).
   *
   * @param taskTypes The task types that may be ready (empty: any).
   */
  notify(taskTypes: readonly string[]): void {
    this.#local.notify(taskTypes);
    if (this.#closed) return;
    if (this.#outgoing === null) {
      this.#outgoing = new Set();
      this.#any = false;
      queueMicrotask(() => this.#send());
    }
    if (taskTypes.length === 0) this.#any = true;
    for (const type of taskTypes) this.#outgoing.add(type);
  }

  /**
   * Subscribes a listener (to this process's notifications and every other process's).
   *
   * @param listener Called on each notification.
   * @returns A function that unsubscribes.
   */
  listen(listener: NotifyListener): () => void {
    return this.#local.listen(listener);
  }

  /** Stops listening and waits for the last `NOTIFY`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sending;
    await this.#unlisten?.().catch(() => {});
  }

  #send(): void {
    const types = this.#any ? [] : this.#outgoing ?? [];
    this.#outgoing = null;
    if (this.#closed) return;
    const payload = payloadOf(types, this.#origin);
    // A hint: a failed NOTIFY costs the other processes a poll interval.
    this.#sending = Promise.all([
      this.#sending,
      this.#sql.notify(this.#channel, payload).catch(() => {}),
    ]);
  }

  #received(text: string): void {
    let payload: Payload;
    try {
      payload = JSON.parse(text) as Payload;
    } catch {
      payload = { t: [] }; // not ours to read: look anyway
    }
    if (payload.o === this.#origin) return; // delivered in process already
    const types = Array.isArray(payload.t) ? payload.t.filter((t) => typeof t === "string") : [];
    this.#local.notify(types);
  }
}
