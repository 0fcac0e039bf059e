/**
 * The Worker: routes every request to the Durable Object that holds its queue. The default queue is
 * served at the root (`/`, the dashboard; `/tasks`, `/stats` … the API); a queue by name under
 * `/queues/<name>/`. Each object name is its own queue with its own SQLite storage and alarm.
 *
 * @module
 */

import type { QueueEnv } from "./queue_object.ts";

export { QueueObject } from "./queue_object.ts";

/** `/queues/<name>/…` names a queue; anything else is the default one. */
const NAMED = /^\/queues\/([A-Za-z0-9_-]{1,64})(?:\/|$)/;

export default {
  fetch(request: Request, env: QueueEnv): Promise<Response> {
    const name = NAMED.exec(new URL(request.url).pathname)?.[1] ?? "default";
    return env.QUEUES.get(env.QUEUES.idFromName(name)).fetch(request);
  },
};
