/**
 * What a read-only connection to a file needs besides the binding's read-only flag: SQLite reads
 * a WAL-mode file through its `-wal` and `-shm` files, and creates them (a read-only connection
 * writes neither the file nor its WAL, but needs the shared-memory index) when no connection has
 * the file open. A read-only connection cannot remove them at close, as the last read-write
 * connection does. So when they are there after the read-only connection closed and the WAL is
 * empty (no commit waits in it), the queue opens the file read-write once, reads its schema and
 * closes it: if no other connection has the file open (another reader, a writer), SQLite's own
 * close then checkpoints the empty WAL (nothing is written to the file) and removes both; if one
 * has, its own close will. If that open fails (the file or its folder is not writable), they stay.
 *
 * `?immutable=1` would create nothing, but it also takes no locks and reads no WAL: wrong for a
 * queue another process may be writing.
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import type { Exec } from "./_file.ts";

/** A connection as opened by a binding, closable. */
type Connection = Exec & { close(): void };

/** A file opened read-only by the queue. */
export interface ReadOnlyFile {
  /** Closes the read-only connection, then removes the `-wal` and `-shm` its read created. */
  close(db: Connection): void;
}

/**
 * How to close a read-only connection to `path`.
 *
 * @param path The file.
 * @param reopen Opens `path` read-write (without creating it).
 * @returns How to close the read-only connection.
 */
export function readOnlyFile(path: string, reopen: () => Connection): ReadOnlyFile {
  const wal = `${path}-wal`;
  return {
    close(db) {
      db.close();
      if (path === ":memory:" || !(existsSync(wal) || existsSync(`${path}-shm`))) return;
      try {
        if (existsSync(wal) && statSync(wal).size > 0) return; // commits: a writer's to checkpoint
        const writable = reopen();
        try {
          writable.exec("SELECT count(*) FROM sqlite_master");
        } finally {
          writable.close();
        }
      } catch {
        // not writable (or gone): the files stay, as SQLite leaves them for any reader
      }
    },
  };
}
