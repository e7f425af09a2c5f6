import { closeSync, openSync, readSync } from 'node:fs';

/** The first copy of SQLite's WAL-index header (struct WalIndexHdr, 48 bytes) at the start of the `-shm` file. */
const HEADER_BYTES = 48;

/**
 * Says whether any connection, in this process or another, may have committed to a WAL-mode database since the
 * last read, for the price of one pread(2) per event-loop turn and no SQLite call.
 *
 * Why: the key lookup runs on every proxied request and must see a change committed by another process without
 * delay (from the next event-loop turn on, see below). Asking SQLite (`PRAGMA data_version`) costs a statement step
 * and two fcntl(2) lock calls on the shared-memory file per request. Every connection maps the `-shm` file
 * MAP_SHARED and every commit rewrites the WAL-index header at its start (change counter, last frame, and on a WAL
 * reset new salts), so reading those bytes from the file sees each commit as soon as it is made. SQLite writes that
 * copy of the header last, after the commit's frames, so bytes equal to the last read's mean no commit has completed
 * since. "Changed" is a hint, not a verdict: the caller then asks SQLite, which also tells its own commits (a usage
 * flush) from another connection's.
 *
 * One read serves the rest of the event-loop turn it was made in: later calls in that turn answer false, and the
 * next turn reads again. Under load one turn handles many requests (about 30 per turn in the c=64 benchmark), and on
 * this kind of VM each pread costs several µs of the request's CPU. A commit by another process is therefore seen
 * from the next turn on: every request whose bytes were read in a later turn sees it. (Only a request read in the
 * same turn as the commit, i.e. concurrent with it within a fraction of a millisecond, may still pass.) The
 * caller's own writes never wait for a turn: the key repository counts them itself.
 *
 * Without a file to read (an in-memory database, a rollback-journal database, an unreadable `-shm`), every call
 * answers true, so the caller falls back to asking SQLite every time.
 */
export class WalChangeProbe {
  private fd: number | null = null;
  private opened = false;
  private readonly last = Buffer.alloc(HEADER_BYTES);
  private readonly scratch = Buffer.alloc(HEADER_BYTES);
  private known = false;
  /** A read was made in this event-loop turn (cleared by a setImmediate, i.e. when the turn's I/O is done). */
  private readThisTurn = false;
  private readonly endTurn = (): void => {
    this.readThisTurn = false;
  };

  /** `databaseFile`: the WAL-mode database's path, or null when there is none to watch. */
  constructor(private readonly databaseFile: string | null) {}

  changed(): boolean {
    if (this.readThisTurn) return false;
    const fd = this.descriptor();
    if (fd === null) return true;
    let read: number;
    try {
      read = readSync(fd, this.scratch, 0, HEADER_BYTES, 0);
    } catch {
      return true;
    }
    if (read !== HEADER_BYTES) {
      this.known = false;
      return true;
    }
    this.readThisTurn = true;
    setImmediate(this.endTurn);
    if (this.known && this.scratch.equals(this.last)) return false;
    this.scratch.copy(this.last);
    this.known = true;
    return true;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /**
   * Opened on first use, once the connection has created the `-shm` file. It stays valid while the connection is
   * open: SQLite removes or reinitialises that file only when no connection holds it, and this process's does.
   */
  private descriptor(): number | null {
    if (!this.opened && this.databaseFile !== null) {
      this.opened = true;
      try {
        this.fd = openSync(`${this.databaseFile}-shm`, 'r');
      } catch {
        this.fd = null;
      }
    }
    return this.fd;
  }
}
