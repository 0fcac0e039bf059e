/**
 * The WAL file format, read without SQLite (https://www.sqlite.org/fileformat2.html#walformat):
 * the 32-byte header, the 24-byte frame headers and the cumulative checksum, and a scan that
 * finds the valid prefix SQLite's recovery would replay and what lies after it. Pure functions
 * over the bytes; `_wal_check.ts` reads the files and decides.
 *
 * @module
 */

/** The WAL header's size. */
export const WAL_HEADER_BYTES = 32;
/** A frame header's size. */
export const FRAME_HEADER_BYTES = 24;
/** The only WAL format version SQLite writes. */
const WAL_VERSION = 3007000;

/** A WAL header that SQLite's recovery accepts. */
export interface WalHeader {
  /** Checksum words are big-endian (magic 0x377f0683) or little-endian (0x377f0682). */
  bigEndian: boolean;
  /** The page size. */
  pageSize: number;
  /** The salts every frame of this generation carries. */
  salt1: number;
  salt2: number;
  /** The header's checksum: the start of the frames' cumulative checksum. */
  checksum: [number, number];
}

/** One frame header's fields. */
export interface FrameHeader {
  /** The page number (0 is never valid). */
  page: number;
  /** Non-zero on a commit frame: the database's size in pages after the commit. */
  commit: number;
  salt1: number;
  salt2: number;
  checksum1: number;
  checksum2: number;
}

/** What a scan found after the valid prefix (frame indexes are 0-based). */
export interface WalTail {
  /** The first frame that fails (salts, page number or checksum). */
  firstBad: number;
  /** Frames after the prefix that carry the header's salts (this generation's). */
  currentFrames: number;
  /** Commit frames among them. */
  currentCommits: number;
  /** The last frame of this generation (a cut one included), and the last commit frame. */
  lastCurrent: number;
  lastCurrentCommit: number;
  /**
   * The first frame between `firstBad` and the last commit frame that no crash leaves: a
   * header neither of this generation, nor zeros, nor a plausible earlier generation's.
   */
  firstForeign: number;
}

/** The result of scanning a WAL whose header is valid. */
export interface WalScan {
  header: WalHeader;
  /** Whole frames in the file. */
  frames: number;
  /** The valid prefix: frames whose salts and cumulative checksum hold. */
  validFrames: number;
  /** Frames SQLite replays: up to the last commit frame of the valid prefix. */
  replayed: number;
  /** Commit frames in the valid prefix. */
  commits: number;
  /** Bytes of a frame cut by the end of the file (0: the file ends on a frame boundary). */
  cutBytes: number;
  /** The cut frame's salts are this generation's (known only when 16 bytes of it survive). */
  cutIsCurrent: boolean;
  /** After the valid prefix, or null when every whole frame is valid. */
  tail: WalTail | null;
}

/** A source of the WAL's bytes: `read(offset, into)` fills `into`, returns the bytes read. */
export type ReadAt = (offset: number, into: Uint8Array) => number;

const u32 = (bytes: Uint8Array, at: number) =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

/**
 * Adds `length` bytes at `offset` (a multiple of 8) to the cumulative checksum `sum`, in place:
 * `s1 += x[i] + s2; s2 += x[i+1] + s1` over 32-bit words, in the header's byte order.
 */
export function addChecksum(
  view: DataView,
  offset: number,
  length: number,
  littleEndian: boolean,
  sum: [number, number],
): void {
  let s1 = sum[0];
  let s2 = sum[1];
  const end = offset + length;
  for (let i = offset; i < end; i += 8) {
    s1 = (s1 + view.getUint32(i, littleEndian) + s2) >>> 0;
    s2 = (s2 + view.getUint32(i + 4, littleEndian) + s1) >>> 0;
  }
  sum[0] = s1;
  sum[1] = s2;
}

/** Reads a WAL header; null when SQLite's recovery would reject it (and ignore every frame). */
export function parseWalHeader(bytes: Uint8Array): WalHeader | null {
  if (bytes.length < WAL_HEADER_BYTES) return null;
  const magic = u32(bytes, 0);
  if ((magic & 0xfffffffe) !== 0x377f0682) return null;
  const pageSize = u32(bytes, 8);
  if (!isPageSize(pageSize) || u32(bytes, 4) !== WAL_VERSION) return null;
  const bigEndian = (magic & 1) === 1;
  const sum: [number, number] = [0, 0];
  addChecksum(new DataView(bytes.buffer, bytes.byteOffset, 24), 0, 24, !bigEndian, sum);
  if (sum[0] !== u32(bytes, 24) || sum[1] !== u32(bytes, 28)) return null;
  return { bigEndian, pageSize, salt1: u32(bytes, 16), salt2: u32(bytes, 20), checksum: sum };
}

/** Whether `n` is a page size SQLite accepts (a power of two from 512 to 65536). */
export function isPageSize(n: number): boolean {
  return n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

/** A frame header at `at` of `bytes`. */
export function frameHeader(bytes: Uint8Array, at: number): FrameHeader {
  return {
    page: u32(bytes, at),
    commit: u32(bytes, at + 4),
    salt1: u32(bytes, at + 8),
    salt2: u32(bytes, at + 12),
    checksum1: u32(bytes, at + 16),
    checksum2: u32(bytes, at + 20),
  };
}

/**
 * Whether a frame header that is not of this generation is what a crash can leave where a
 * frame was being written: zeros (the file was extended), or an earlier generation's frame (WAL
 * files are reused after a checkpoint; salt-1 grows by one at each reuse).
 */
function leftBehind(frame: FrameHeader, header: WalHeader): boolean {
  const zeros = frame.page === 0 && frame.commit === 0 && frame.salt1 === 0 &&
    frame.salt2 === 0 && frame.checksum1 === 0 && frame.checksum2 === 0;
  if (zeros) return true;
  const older = (header.salt1 - frame.salt1) >>> 0;
  return older >= 1 && older < 1 << 24 && frame.page !== 0 &&
    (frame.commit === 0 || frame.commit >= frame.page);
}

/** How many whole frames are read at once (about 1 MiB). */
function framesPerChunk(frameBytes: number): number {
  return Math.max(1, Math.floor((1 << 20) / frameBytes));
}

/**
 * Walks the frames of a WAL whose header is valid, verifying the cumulative checksum, and
 * classifies what follows the valid prefix. Reads in chunks of about 1 MiB.
 *
 * @param read The WAL's bytes.
 * @param size The WAL's size in bytes.
 * @param header Its header.
 * @returns The scan, or null when the file shrank while it was read (another connection
 * checkpointed it).
 */
export function scanWal(read: ReadAt, size: number, header: WalHeader): WalScan | null {
  const frameBytes = FRAME_HEADER_BYTES + header.pageSize;
  const frames = Math.floor((size - WAL_HEADER_BYTES) / frameBytes);
  const cutBytes = (size - WAL_HEADER_BYTES) % frameBytes;
  const littleEndian = !header.bigEndian;
  const sum: [number, number] = [header.checksum[0], header.checksum[1]];
  const scan: WalScan = {
    header,
    frames,
    validFrames: 0,
    replayed: 0,
    commits: 0,
    cutBytes,
    cutIsCurrent: false,
    tail: null,
  };
  const perChunk = framesPerChunk(frameBytes);
  const buffer = new Uint8Array(perChunk * frameBytes);
  const view = new DataView(buffer.buffer);
  for (let first = 0; first < frames; first += perChunk) {
    const count = Math.min(perChunk, frames - first);
    const chunk = buffer.subarray(0, count * frameBytes);
    if (read(WAL_HEADER_BYTES + first * frameBytes, chunk) < chunk.length) return null;
    for (let k = 0; k < count; k++) {
      const at = k * frameBytes;
      const frame = frameHeader(buffer, at);
      const current = frame.salt1 === header.salt1 && frame.salt2 === header.salt2;
      const index = first + k;
      if (scan.tail === null) {
        if (current && frame.page !== 0) {
          const before: [number, number] = [sum[0], sum[1]];
          addChecksum(view, at, 8, littleEndian, sum);
          addChecksum(view, at + FRAME_HEADER_BYTES, header.pageSize, littleEndian, sum);
          if (sum[0] === frame.checksum1 && sum[1] === frame.checksum2) {
            scan.validFrames = index + 1;
            if (frame.commit !== 0) {
              scan.commits++;
              scan.replayed = index + 1;
            }
            continue;
          }
          sum[0] = before[0];
          sum[1] = before[1];
        }
        scan.tail = {
          firstBad: index,
          currentFrames: 0,
          currentCommits: 0,
          lastCurrent: -1,
          lastCurrentCommit: -1,
          firstForeign: -1,
        };
      }
      const tail = scan.tail;
      if (current) {
        tail.currentFrames++;
        tail.lastCurrent = index;
        if (frame.commit !== 0) {
          tail.currentCommits++;
          tail.lastCurrentCommit = index;
        }
      } else if (tail.firstForeign === -1 && !leftBehind(frame, header)) {
        tail.firstForeign = index;
      }
    }
  }
  if (cutBytes >= 16) {
    const cut = new Uint8Array(16);
    if (read(WAL_HEADER_BYTES + frames * frameBytes, cut) < 16) return null;
    const frame = frameHeader(new Uint8Array([...cut, ...new Uint8Array(8)]), 0);
    scan.cutIsCurrent = frame.salt1 === header.salt1 && frame.salt2 === header.salt2;
    if (scan.cutIsCurrent && scan.tail) scan.tail.lastCurrent = frames;
  }
  return scan;
}

/** What a WAL with a damaged header holds: frames that chain like a generation's frames. */
export interface HeaderlessFrames {
  /** Frames from the first on that carry the first frame's salts. */
  frames: number;
  /** Commit frames among them. */
  commits: number;
}

/**
 * Looks for frames in a WAL whose header SQLite rejects: the first frame (at byte 32, with the
 * database's page size) has a page number and either a second frame of the same salts whose
 * checksum continues the first one's (in either byte order), or is a lone commit frame.
 *
 * @param read The WAL's bytes.
 * @param size The WAL's size.
 * @param pageSize The page size to assume.
 * @returns The frames found, or null when nothing there looks like a frame.
 */
export function headerlessFrames(
  read: ReadAt,
  size: number,
  pageSize: number,
): HeaderlessFrames | null {
  const frameBytes = FRAME_HEADER_BYTES + pageSize;
  const total = Math.floor((size - WAL_HEADER_BYTES) / frameBytes);
  if (total < 1) return null;
  const buffer = new Uint8Array(framesPerChunk(frameBytes) * frameBytes);
  const two = buffer.subarray(0, Math.min(2, total) * frameBytes);
  if (read(WAL_HEADER_BYTES, two) < two.length) return null;
  const first = frameHeader(buffer, 0);
  if (first.page === 0) return null;
  if (total === 1) return first.commit === 0 ? null : { frames: 1, commits: 1 };
  const second = frameHeader(buffer, frameBytes);
  if (second.salt1 !== first.salt1 || second.salt2 !== first.salt2) return null;
  const view = new DataView(buffer.buffer);
  const chains = [true, false].some((littleEndian) => {
    const sum: [number, number] = [first.checksum1, first.checksum2];
    addChecksum(view, frameBytes, 8, littleEndian, sum);
    addChecksum(view, frameBytes + FRAME_HEADER_BYTES, pageSize, littleEndian, sum);
    return sum[0] === second.checksum1 && sum[1] === second.checksum2;
  });
  if (!chains) return null;
  const found: HeaderlessFrames = { frames: 0, commits: 0 };
  const perChunk = framesPerChunk(frameBytes);
  for (let at = 0; at < total; at += perChunk) {
    const count = Math.min(perChunk, total - at);
    const chunk = buffer.subarray(0, count * frameBytes);
    if (read(WAL_HEADER_BYTES + at * frameBytes, chunk) < chunk.length) return null;
    for (let k = 0; k < count; k++) {
      const frame = frameHeader(buffer, k * frameBytes);
      if (frame.salt1 !== first.salt1 || frame.salt2 !== first.salt2) continue;
      found.frames++;
      if (frame.commit !== 0) found.commits++;
    }
  }
  return found;
}
