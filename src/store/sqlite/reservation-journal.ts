import { closeSync, existsSync, fsync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { ReservationRecord } from '../types.js';
import { idsClosedByBatch } from './batch-close-line.js';
import { CoalescedFsync, type DurableCallback } from './coalesced-fsync.js';
import { reservationLine } from './reservation-line.js';
import type { BatchCommitted } from './settled-marks.js';

/** Rewrite the journal with only the open reservations once it grows past this. */
const COMPACT_BYTES = 4 * 1024 * 1024;

type Line = { r: ReservationRecord } | { s: string };

/**
 * Open budget reservations, as an append-only file beside the database. A reservation must be on disk before its
 * request is forwarded. The lines of every reservation admitted in one event-loop turn are written together at the
 * end of that turn's I/O phase (one write(2), in a setImmediate), and each admission waits for that write before
 * its request is forwarded: at c=64 a turn admits ~10–30 requests, so the journal costs one system call per turn
 * instead of one per request (a write(2) here costs ~1.5 µs of CPU before cache misses), for one shared promise
 * and a forward held back by the rest of the turn. An SQLite commit per request would cost tens of microseconds.
 *
 * Lines are written with write(2), so they survive kill -9 at once; `syncInBackground()` (requested after every
 * settlement batch's close lines, through libuv's threadpool) makes them survive power loss too. A power loss before
 * that fsync can lose the newest open lines (requests admitted in the last batch window or so): the journal is not
 * fsynced per request.
 *
 * A settlement batch writes one close line for all its reservations, tagged with the batch's (epoch, seq), before
 * its spend commit (spend-repo.ts has the crash-case table); recovery honours the line only if the database's mark
 * says that batch committed (settled-marks.ts). Older journals' per-id closing lines (`{"s":id}`) are still read.
 * Without a file (an in-memory database), reservations are kept in memory only. A lease (reservation-leases.ts) is
 * an ordinary reservation line here, whose usd covers the many reservations taken from it.
 */
export class ReservationJournal {
  private fd: number | null;
  private readonly open = new Map<string, ReservationRecord>();
  private bytes = 0;
  private readonly fsyncs: CoalescedFsync;
  /** This turn's appended lines, not yet written, and the promise their appends wait on. */
  private queuedText = '';
  private queuedIds: string[] = [];
  private queued: Promise<void> | null = null;
  private queuedOutcome: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  /** Close lines of committed settlement batches whose commit is not durable yet: compaction carries them over. */
  private readonly heldBatchCloses = new Map<number, string>();

  constructor(private readonly file: string | null) {
    this.fd = file === null ? null : openSync(file, 'a', 0o600);
    // The journal reports its writes, so a settlement batch that wrote no line (most, with leases) costs no fsync.
    this.fsyncs = new CoalescedFsync(this.fd, fsync, true);
  }

  /** True while this process holds the reservation open (admitted here, not yet closed). */
  isLive(id: string): boolean {
    return this.open.has(id);
  }

  /**
   * Reservations that were written and never closed: what a crash left behind. A settlement batch's close line
   * closes its reservations only if `committed` says the batch committed (settled-marks.ts); without it, none does.
   */
  recover(committed: BatchCommitted = neverCommitted): ReservationRecord[] {
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
      if (typeof line !== 'object' || line === null) continue; // not a line this journal writes
      if ('r' in line) open.set(line.r.id, line.r);
      else if ('s' in line) open.delete(line.s);
      else for (const id of idsClosedByBatch(line, committed) ?? []) if (typeof id === 'string') open.delete(id);
    }
    return [...open.values()];
  }

  /**
   * Queues the reservation's line for this turn's write and returns a promise that resolves once it is on disk
   * (rejects when it cannot be written: then the caller must not forward). Every append of a turn shares that one
   * promise. Without a file there is nothing to wait for.
   */
  append(reservation: ReservationRecord): void | Promise<void> {
    this.open.set(reservation.id, reservation);
    if (this.fd === null) return;
    this.queuedText += reservationLine(reservation);
    this.queuedIds.push(reservation.id);
    return (this.queued ??= new Promise<void>((resolve, reject) => {
      this.queuedOutcome = { resolve, reject };
      setImmediate(this.writeQueued);
    }));
  }

  /** Writes the queued lines (one write) and answers their appends. Also run before compaction and shutdown. */
  private readonly writeQueued = (): void => {
    const outcome = this.queuedOutcome;
    if (outcome === null) return;
    const text = this.queuedText;
    const ids = this.queuedIds;
    this.queuedText = '';
    this.queuedIds = [];
    this.queued = null;
    this.queuedOutcome = null;
    try {
      this.write(text);
    } catch (err) {
      // Not forwarded, so not open: recovery must not charge them (a line that did reach the disk is charged in
      // full, an overstatement only).
      for (const id of ids) this.open.delete(id);
      outcome.reject(err);
      return;
    }
    outcome.resolve();
  };

  private write(text: string): void {
    if (this.fd === null || text === '') return;
    // writeSync of a string writes it whole or throws, except for a short write, which only a full disk causes:
    // the rest is written from a buffer then.
    this.fsyncs.noteWrite();
    const written = writeSync(this.fd, text);
    const length = Buffer.byteLength(text);
    if (written < length) {
      const buffer = Buffer.from(text);
      let offset = written;
      while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset);
    }
    this.bytes += length;
  }

  /** Writes a settlement batch's close line (batch-close-line.ts), before the batch commits. Throws if it cannot. */
  writeBatchClose(line: string): void {
    this.write(line);
  }

  /** The batch committed: until `settledDurably`, its reservations stay open here and compaction keeps its line. */
  holdBatchClose(seq: number, line: string): void {
    this.heldBatchCloses.set(seq, line);
  }

  /** The batch's commit is on stable storage: its reservations are closed for good (compaction drops them). */
  settledDurably(seq: number, ids: readonly string[]): void {
    this.heldBatchCloses.delete(seq);
    for (const id of ids) this.open.delete(id);
    if (this.bytes > COMPACT_BYTES) this.compact();
  }

  /** Flushes the journal to stable storage on this thread (power-loss durability). */
  sync(): void {
    this.fsyncs.syncNow();
  }

  /** `callback` once every line written so far is on stable storage (fsync in libuv's threadpool, coalesced). */
  syncInBackground(callback: DurableCallback): void {
    this.fsyncs.afterDurable(callback);
  }

  /** Starts a fresh journal holding only the open reservations (after recovery, or when it grew large). */
  compact(): void {
    if (this.file === null || this.fd === null) return;
    // Queued lines are written first, so their appends are answered (they are also in `open`, rewritten below).
    this.writeQueued();
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    // Open reservations first, then the held batch lines that close some of them once their commit is durable.
    const text = [...this.open.values()].map(reservationLine).join('') + [...this.heldBatchCloses.values()].join('');
    let offset = 0;
    const buffer = Buffer.from(text);
    while (offset < buffer.length) offset += writeSync(fd, buffer, offset);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, this.file);
    this.fd = openSync(this.file, 'a', 0o600);
    // The old descriptor is closed once no background fsync uses it. Lines closed before the rename are durable
    // by the rewrite itself (the new file, fsynced above, no longer holds their reservations).
    this.fsyncs.replace(this.fd);
    this.bytes = buffer.length;
  }

  shutdown(): void {
    if (this.fd === null) return;
    this.writeQueued();
    this.fsyncs.syncNow();
    this.fsyncs.replace(null);
    this.fd = null;
  }
}

function neverCommitted(): boolean {
  return false;
}
