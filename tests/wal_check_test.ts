/**
 * A damaged WAL is refused instead of silently dropping acknowledged tasks. A real process
 * enqueues 12 batches (one transaction each) and is killed with SIGKILL, so its WAL is left
 * as a crash leaves it; copies of the file and WAL are damaged and opened. What SQLite would
 * replay only in part is refused (`StorageError` `corrupt`, naming the file, every byte left as
 * it was); what a crash can leave (a torn last transaction, a cut on a sector boundary, garbage
 * past the end, an earlier generation's frames in a reused WAL) opens with the tasks before it.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { StorageError, TaskQueue } from "../mod.ts";
import { fixture, runScript, tempDir } from "./_helpers.ts";

const BATCHES = 12;
const PER_BATCH = 20;
const TASKS = BATCHES * PER_BATCH;

/** The files a killed writer left, and where its WAL's frames are. */
interface Snapshot {
  db: Uint8Array;
  wal: Uint8Array;
  /** A frame's size (24-byte header + page). */
  frameBytes: number;
  /** Indexes of the current generation's commit frames. */
  commits: number[];
}

const u32 = (bytes: Uint8Array, at: number) =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);

/** Runs the writer, kills it, and keeps its db and WAL bytes (its folder is removed). */
async function writeAndKill(reuse: boolean): Promise<Snapshot> {
  const tmp = tempDir();
  try {
    const path = tmp.file("q.db");
    const args = [path, String(BATCHES), String(PER_BATCH), ...(reuse ? ["reuse"] : [])];
    const { code, stdout, stderr } = await runScript(fixture("wal_writer.ts"), args);
    assert.equal(code, null, `the writer was killed, not exited (${code}): ${stderr}`);
    assert.deepEqual(JSON.parse(stdout), { enqueued: TASKS });
    const wal = readFileSync(`${path}-wal`);
    const frameBytes = 24 + u32(wal, 8);
    const salt = u32(wal, 16);
    const commits: number[] = [];
    for (let at = 32, i = 0; at + frameBytes <= wal.length; at += frameBytes, i++) {
      if (u32(wal, at + 4) !== 0 && u32(wal, at + 8) === salt) commits.push(i);
    }
    return { db: readFileSync(path), wal, frameBytes, commits };
  } finally {
    tmp.cleanup();
  }
}

let plain: Promise<Snapshot> | null = null;
/** One killed writer's files, shared by the tests (each damages its own copy). */
const snapshot = () => (plain ??= writeAndKill(false));

/** Writes a copy of the files, damages it, and returns its paths. */
async function damaged(
  dir: string,
  damage: (files: { db: string; wal: string }, s: Snapshot) => void,
  from: Promise<Snapshot> = snapshot(),
) {
  const s = await from;
  const files = { db: `${dir}/q.db`, wal: `${dir}/q.db-wal` };
  writeFileSync(files.db, s.db);
  writeFileSync(files.wal, s.wal);
  damage(files, s);
  return { ...files, s };
}

/** Overwrites `bytes` at `offset` of a file. */
function overwrite(path: string, offset: number, bytes: Uint8Array): void {
  const content = readFileSync(path);
  content.set(bytes, offset);
  writeFileSync(path, content);
}

const frameAt = (s: Snapshot, index: number) => 32 + index * s.frameBytes;
const garbage = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + 17) & 0xff);

/** Opens the queue and counts its tasks. */
async function openedTasks(path: string, options: { integrityCheck?: "off" } = {}) {
  const queue = await TaskQueue.open({ path, ...options });
  try {
    const stats = await queue.getQueueStats();
    return Object.values(stats).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

/** Asserts that opening is refused as corrupt, naming the file, with every byte unchanged. */
async function assertRefused(files: { db: string; wal: string }, what: RegExp) {
  const db = existsSync(files.db) ? readFileSync(files.db) : null;
  const wal = readFileSync(files.wal);
  await assert.rejects(TaskQueue.open(files.db), (error: unknown) => {
    assert.ok(error instanceof StorageError, `a StorageError, not ${error}`);
    assert.equal(error.code, "corrupt", error.message);
    assert.ok(error.message.includes(files.db), error.message);
    assert.match(error.message, what);
    return true;
  });
  assert.deepEqual(existsSync(files.db) ? readFileSync(files.db) : null, db, "file unchanged");
  assert.deepEqual(readFileSync(files.wal), wal, "WAL unchanged");
  assert.ok(!existsSync(`${files.db}-shm`), "SQLite never opened it");
}

describe("a WAL left by a killed process", () => {
  test("intact: opens with every task", async () => {
    const tmp = tempDir();
    try {
      const { db } = await damaged(tmp.dir, () => {});
      assert.equal(await openedTasks(db), TASKS);
    } finally {
      tmp.cleanup();
    }
  });

  test("header clobbered: refused, unchanged (SQLite would ignore every frame)", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f) => overwrite(f.wal, 0, garbage(32)));
      await assertRefused(files, /WAL header .* is damaged/);
    } finally {
      tmp.cleanup();
    }
  });

  test("a frame in the middle overwritten: refused, unchanged", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f, s) => {
        const middle = s.commits[Math.floor(s.commits.length / 2)]! - 1;
        overwrite(f.wal, frameAt(s, middle) + 1000, garbage(2000));
      });
      await assertRefused(files, /committed transactions .* after a bad checksum at frame/);
    } finally {
      tmp.cleanup();
    }
  });

  test("a frame in the middle zeroed (as if never written): refused, unchanged", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f, s) => {
        const middle = s.commits[Math.floor(s.commits.length / 2)]!;
        overwrite(f.wal, frameAt(s, middle), new Uint8Array(s.frameBytes));
      });
      await assertRefused(files, /after a bad checksum/);
    } finally {
      tmp.cleanup();
    }
  });

  test("the last transaction torn (a frame before its commit never written): opens without it", async () => {
    const tmp = tempDir();
    try {
      const { db } = await damaged(tmp.dir, (f, s) => {
        const last = s.commits.at(-1)!;
        assert.ok(last - 1 > s.commits.at(-2)!, "the last transaction has two frames or more");
        overwrite(f.wal, frameAt(s, last - 1), new Uint8Array(s.frameBytes));
      });
      assert.equal(await openedTasks(db), TASKS - PER_BATCH);
    } finally {
      tmp.cleanup();
    }
  });

  test("cut in the last frame on a sector boundary (as a crash leaves it): opens without the last transaction", async () => {
    const tmp = tempDir();
    try {
      const { db } = await damaged(tmp.dir, (f, s) => {
        const start = frameAt(s, s.commits.at(-1)!);
        truncateSync(f.wal, Math.ceil((start + 24 + 1) / 512) * 512 + 1024);
      });
      assert.equal(await openedTasks(db), TASKS - PER_BATCH);
    } finally {
      tmp.cleanup();
    }
  });

  test("cut in the last frame where no write ends: refused, unchanged", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f, s) => {
        const start = frameAt(s, s.commits.at(-1)!);
        let cut = start + 1000;
        if (cut % 512 === 0) cut++;
        truncateSync(f.wal, cut);
      });
      await assertRefused(files, /ends \d+ bytes into frame \d+, where no write ends/);
    } finally {
      tmp.cleanup();
    }
  });

  test("cut in the middle of the WAL where no write ends: refused, unchanged", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f, s) => {
        truncateSync(f.wal, frameAt(s, s.commits[Math.floor(s.commits.length / 2)]!) + 1001);
      });
      await assertRefused(files, /it was cut/);
    } finally {
      tmp.cleanup();
    }
  });

  for (const bytes of [10, 5000, 3 * 4120]) {
    test(`${bytes} bytes of garbage appended: opens with every task`, async () => {
      const tmp = tempDir();
      try {
        const { db, wal } = await damaged(tmp.dir, (f) => {
          writeFileSync(f.wal, new Uint8Array([...readFileSync(f.wal), ...garbage(bytes)]));
        });
        assert.ok(existsSync(wal));
        assert.equal(await openedTasks(db), TASKS);
      } finally {
        tmp.cleanup();
      }
    });
  }

  test("a reused WAL (an earlier generation's frames past its end): opens with every task", async () => {
    const tmp = tempDir();
    try {
      const { db, s } = await damaged(tmp.dir, () => {}, writeAndKill(true));
      const frames = Math.floor((s.wal.length - 32) / s.frameBytes);
      assert.ok(s.commits.at(-1)! < frames - 1, "frames of an earlier generation follow");
      assert.equal(await openedTasks(db), TASKS);
    } finally {
      tmp.cleanup();
    }
  });

  test("the file truncated to 0 bytes under its WAL: refused, unchanged", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f) => truncateSync(f.db, 0));
      await assertRefused(files, /is empty but its WAL holds \d+ committed transactions/);
    } finally {
      tmp.cleanup();
    }
  });

  test("the file removed, its WAL left: refused, nothing created", async () => {
    const tmp = tempDir();
    try {
      const files = await damaged(tmp.dir, (f) => rmSync(f.db));
      await assertRefused(files, /does not exist but its WAL holds/);
      assert.ok(!existsSync(files.db));
    } finally {
      tmp.cleanup();
    }
  });

  test('integrityCheck "off" opens a damaged WAL anyway (what SQLite replays)', async () => {
    const tmp = tempDir();
    try {
      const { db } = await damaged(tmp.dir, (f) => overwrite(f.wal, 0, garbage(32)));
      assert.equal(await openedTasks(db, { integrityCheck: "off" }), 0);
    } finally {
      tmp.cleanup();
    }
  });
});

describe("files without a WAL", () => {
  test("a brand-new 0-byte file opens as a new, empty queue", async () => {
    const tmp = tempDir();
    try {
      writeFileSync(tmp.file("new.db"), "");
      assert.equal(await openedTasks(tmp.file("new.db")), 0);
      assert.equal(await openedTasks(tmp.file("missing.db")), 0);
    } finally {
      tmp.cleanup();
    }
  });
});
