/**
 * Cron patterns for recurring schedules, read by croner (5 fields, or 6 with seconds first),
 * in an IANA time zone.
 *
 * @module
 */

import { Cron } from "croner";
import { ValidationError } from "./errors.ts";

/**
 * The first slot of a cron pattern strictly after `after`, or `null` when there is none.
 *
 * @example Usage
 * ```ts
 * import { nextCronSlot } from "@tasklite/tasklite";
 *
 * const at = nextCronSlot("0 3 * * *", Date.UTC(2026, 0, 1, 12), "UTC");
 * console.log(new Date(at!).toISOString()); // 2026-01-02T03:00:00.000Z
 * ```
 *
 * @param pattern The cron pattern.
 * @param after Epoch ms.
 * @param timezone An IANA time zone such as `Europe/Paris`; UTC when `null`.
 * @returns The slot, epoch ms.
 * @throws {ValidationError} The pattern or the time zone is not valid (a `TypeError`).
 */
export function nextCronSlot(
  pattern: string,
  after: number,
  timezone: string | null,
): number | null {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: timezone ?? "UTC", paused: true });
  } catch (error) {
    throw new ValidationError(
      `Invalid cron pattern "${pattern}": ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  const next = cron.nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/**
 * Whether a string names a time zone this runtime knows.
 *
 * @param timezone The name, such as `America/New_York`.
 * @returns `true` if `Intl` accepts it.
 */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}
