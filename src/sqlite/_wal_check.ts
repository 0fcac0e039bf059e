/**
 * The WAL check at open: before SQLite touches a queue's file (its recovery would replay the
 * `-wal` only up to the first bad checksum and then reset it), read the file and its `-wal` with
 * `node:fs` and refuse, as `StorageError` `corrupt`, what would silently drop committed
 * transactions:
 *
 * - a WAL whose header SQLite rejects but which holds frames that chain like frames (SQLite
 *   would ignore them all);
 * - frames of the WAL's current generation with commits after the valid prefix, unless they can
 *   be a torn last transaction: one commit frame, the generation's last frame, and nothing in
 *   between that a crash cannot leave (zeros, an earlier generation's frames, this one's);
 * - a WAL that ends inside a frame of its current generation at a byte where no write ends
 *   (neither after a frame header nor on a 512-byte sector): it was cut, and what followed the
 *   cut is gone;
 * - an empty or missing database file next to a WAL with commits (a queue truncated or removed
 *   under its WAL: SQLite would delete the WAL and start an empty queue).
 *
 * Not detectable: a WAL cut exactly on a frame or sector boundary, or emptied, looks like a
 * crash before those writes (the missing frames cannot be seen). Frames of an earlier
 * generation after the valid prefix are leftovers of a reused WAL and are ignored, as SQLite
 * does. A verdict is confirmed by a second read, so that a WAL another process writes or resets
 * meanwhile is never refused. `node:fs` is loaded only when a file queue opens.
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import {
  FRAME_HEADER_BYTES,
  headerlessFrames,
  isPageSize,
  parseWalHeader,
  type ReadAt,
  scanWal,
  WAL_HEADER_BYTES,
} from "./_wal_frames.ts";

type Fs = typeof import("node:fs");

/** A crash can leave a file that ends on this boundary (a disk sector). */
const SECTOR_BYTES = 512;

/** What to tell the caller after what was found. */
const NOTHING_CHANGED = 'nothing was changed (integrityCheck "off" opens it without them)';

/**
 * Refuses a queue file whose WAL SQLite would replay only in part (see the module's text).
 *
 * @param path The queue's file; `:memory:` and `file:` URIs are not checked.
 * @throws {StorageError} Code `corrupt`, naming the file and what was found; the files are left
 * byte for byte as they were.
 */
export async function checkWal(path: string): Promise<void> {
  if (path === "" || path === ":memory:" || path.startsWith("file:")) return;
  let fs: Fs;
  try {
    fs = await import("node:fs");
  } catch {
    return; // no file system here: SQLite cannot open a path either
  }
  const first = verdict(fs, path);
  if (first === null || verdict(fs, path) !== first) return;
  throw new StorageError("corrupt", first, { action: "open the queue" });
}

/** The reason to refuse `path`, or null. */
function verdict(fs: Fs, path: string): string | null {
  const wal = `${path}-wal`;
  const walSize = sizeOf(fs, wal);
  if (walSize === null || walSize <= 0) return null;
  const dbSize = sizeOf(fs, path);
  let fd: number;
  try {
    fd = fs.openSync(wal, "r");
  } catch {
    return null; // unreadable: SQLite will say so
  }
  try {
    const read: ReadAt = (offset, into) => {
      let done = 0;
      while (done < into.length) {
        const n = fs.readSync(fd, into, done, into.length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    };
    const head = new Uint8Array(WAL_HEADER_BYTES);
    if (read(0, head) < Math.min(walSize, WAL_HEADER_BYTES)) return null;
    const header = parseWalHeader(head);
    if (header === null) return damagedHeader(read, walSize, wal, dbPageSize(fs, path, dbSize));
    const scan = scanWal(read, walSize, header);
    if (scan === null) return null;
    const tail = scan.tail;
    if (tail !== null && tail.currentCommits > 0) {
      const torn = tail.currentCommits === 1 && tail.lastCurrentCommit === tail.lastCurrent &&
        (tail.firstForeign === -1 || tail.firstForeign > tail.lastCurrentCommit);
      if (!torn) {
        const frames = tail.lastCurrentCommit - tail.firstBad + 1;
        return `the WAL of ${path} has ${plural(tail.currentCommits, "committed transaction")} ` +
          `(${plural(frames, "frame")}) after a bad checksum at frame ${tail.firstBad + 1}: ` +
          `opening it would drop acknowledged tasks; ${NOTHING_CHANGED}`;
      }
    }
    const endsOnWrite = scan.cutBytes === FRAME_HEADER_BYTES || walSize % SECTOR_BYTES === 0;
    if (scan.cutBytes > 0 && scan.cutIsCurrent && !endsOnWrite) {
      return `the WAL of ${path} ends ${scan.cutBytes} bytes into frame ${scan.frames + 1}, ` +
        `where no write ends: it was cut, and the frames after the cut (committed ` +
        `transactions, possibly) are gone; opening it would drop them silently; ${NOTHING_CHANGED}`;
    }
    const commits = scan.commits + (tail?.currentCommits ?? 0);
    if ((dbSize === null || dbSize === 0) && commits > 0) {
      return `${path} ${dbSize === null ? "does not exist" : "is empty"} but its WAL holds ` +
        `${plural(commits, "committed transaction")}: the file was truncated or removed under ` +
        `its WAL, and opening it would start an empty queue; ${NOTHING_CHANGED}`;
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** The reason to refuse a WAL whose header SQLite rejects, or null when it holds no frames. */
function damagedHeader(
  read: ReadAt,
  walSize: number,
  wal: string,
  pageSize: number | null,
): string | null {
  const sizes = pageSize === null
    ? Array.from({ length: 8 }, (_, i) => 512 << i) // 512 … 65536
    : [pageSize];
  for (const size of sizes) {
    if (walSize < WAL_HEADER_BYTES + FRAME_HEADER_BYTES + size) continue;
    const found = headerlessFrames(read, walSize, size);
    if (found === null) continue;
    return `the WAL header of ${wal} is damaged, so SQLite would ignore the whole file, but it ` +
      `holds ${plural(found.frames, "frame")} (${plural(found.commits, "commit")}): opening ` +
      `it would drop acknowledged tasks; ${NOTHING_CHANGED}`;
  }
  return null;
}

/** The page size in the database file's header, or null (no file, empty, not SQLite). */
function dbPageSize(fs: Fs, path: string, dbSize: number | null): number | null {
  if (dbSize === null || dbSize < 100) return null;
  try {
    const fd = fs.openSync(path, "r");
    try {
      const head = new Uint8Array(18);
      if (fs.readSync(fd, head, 0, 18, 0) < 18) return null;
      const raw = (head[16]! << 8) | head[17]!;
      const size = raw === 1 ? 65536 : raw;
      return isPageSize(size) ? size : null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** The file's size; null when it does not exist, -1 when it cannot be read. */
function sizeOf(fs: Fs, path: string): number | null {
  try {
    return fs.statSync(path).size;
  } catch (error) {
    return (error as { code?: string }).code === "ENOENT" ? null : -1;
  }
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
