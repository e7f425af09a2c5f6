import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { ReservationRecord } from '../types.js';

/** Rewrite the journal with only the open reservations once it grows past this. */
const COMPACT_BYTES = 4 * 1024 * 1024;

type Line = { r: ReservationRecord } | { s: string };

/**
 * Open budget reservations, as an append-only file beside the database. A reservation must be on disk before its
 * request is forwarded; appending one line per request (one write per event-loop turn) costs a few microseconds,
 * where an SQLite commit per turn costs tens. Lines are written with write(2), so they survive kill -9 at once;
 * `sync()` (called with every fsynced settlement batch) makes them survive power loss too.
 *
 * Settled reservations get a closing line once their spend is committed to the database. A crash between the two
 * leaves the reservation open, and recovery charges it again: the ledger may overstate spend after a crash, never
 * understate it. Without a file (an in-memory database), reservations are kept in memory only.
 */
export class ReservationJournal {
  private fd: number | null;
  private readonly open = new Map<string, ReservationRecord>();
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private bytes = 0;

  constructor(private readonly file: string | null) {
    this.fd = file === null ? null : openSync(file, 'a', 0o600);
  }

  /** Reservations that were written and never closed: what a crash left behind. */
  recover(): ReservationRecord[] {
    if (this.file === null || !existsSync(this.file)) return [];
    const open = new Map<string, ReservationRecord>();
    for (const text of readFileSync(this.file, 'utf8').split('\n')) {
      if (text === '') continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        continue; // a line torn by the crash itself: its request was never forwarded
      }
      if ('r' in line) open.set(line.r.id, line.r);
      else open.delete(line.s);
    }
    return [...open.values()];
  }

  /** Resolves once the reservation's line is written (end of this event-loop turn, shared with its neighbours). */
  append(reservation: ReservationRecord): Promise<void> {
    this.open.set(reservation.id, reservation);
    if (this.fd === null) return Promise.resolve();
    this.pending.push(`${JSON.stringify({ r: reservation })}\n`);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const text = this.pending.join('');
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      this.write(text);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  private write(text: string): void {
    if (this.fd === null || text === '') return;
    const buffer = Buffer.from(text);
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset);
    this.bytes += buffer.length;
  }

  /** Marks reservations settled. Call only after their spend is committed to the database. */
  close(ids: readonly string[]): void {
    for (const id of ids) this.open.delete(id);
    this.write(ids.map((id) => `${JSON.stringify({ s: id })}\n`).join(''));
    if (this.bytes > COMPACT_BYTES) this.compact();
  }

  /** Flushes the journal to stable storage (power-loss durability). */
  sync(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  /** Starts a fresh journal holding only the open reservations (after recovery, or when it grew large). */
  compact(): void {
    if (this.file === null || this.fd === null) return;
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    const text = [...this.open.values()].map((r) => `${JSON.stringify({ r })}\n`).join('');
    let offset = 0;
    const buffer = Buffer.from(text);
    while (offset < buffer.length) offset += writeSync(fd, buffer, offset);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, this.file);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a', 0o600);
    this.bytes = buffer.length;
  }

  shutdown(): void {
    if (this.fd === null) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}
