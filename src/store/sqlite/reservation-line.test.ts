import { describe, expect, it } from 'vitest';
import type { ReservationRecord } from '../types.js';
import { reservationLine } from './reservation-line.js';

const base: ReservationRecord = { id: 'res_AbC-dEf_1z', keyId: 'key_01JDXYZ', usd: 0.002465, periodKeys: ['day:2026-11-30', 'month:2026-11'], createdAt: 1764500000000 };

/** What the line must mean: the record as JSON.stringify's line would give it back. */
function viaStringify(r: ReservationRecord): unknown {
  return JSON.parse(`{"r":${JSON.stringify(r)}}`);
}

function parsed(line: string): unknown {
  expect(line.endsWith('\n')).toBe(true);
  expect(line.slice(0, -1)).not.toContain('\n');
  return JSON.parse(line);
}

describe('reservationLine', () => {
  it('gives back the record JSON.stringify would, with and without a project', () => {
    expect(parsed(reservationLine(base))).toEqual(viaStringify(base));
    const withProject = { ...base, projectId: 'prj_7', projectPeriodKeys: ['week:2026-W48', 'lifetime'] };
    expect(parsed(reservationLine(withProject))).toEqual(viaStringify(withProject));
    // undefined parts (the memory backend leaves them undefined rather than absent) are left out, as stringify does
    const undefinedProject: ReservationRecord = { ...base, projectId: undefined, projectPeriodKeys: undefined };
    expect(reservationLine(undefinedProject)).toBe(reservationLine(base));
    expect(parsed(reservationLine({ ...base, periodKeys: [] }))).toEqual(viaStringify({ ...base, periodKeys: [] }));
  });

  it('keeps numbers exact: tiny, huge, negative zero, integers', () => {
    for (const usd of [0, -0, 1e-21, 5e-324, 0.1 + 0.2, 123456789.123, 1e21, 2 ** 53 + 2]) {
      const r = { ...base, usd };
      expect((parsed(reservationLine(r)) as { r: { usd: number } }).r.usd).toBe((viaStringify(r) as { r: { usd: number } }).r.usd);
    }
  });

  it('falls back to JSON.stringify for strings that need escaping and numbers JSON cannot hold', () => {
    const hostile = ['q"uote', 'back\\slash', 'new\nline', 'tab\t', 'ctl\u0001', 'sep\u2028', 'ünï', '😀', '"},{"r":{"id":"x"}}'];
    for (const text of hostile) {
      for (const r of [
        { ...base, id: text },
        { ...base, keyId: text },
        { ...base, periodKeys: ['day:2026-11-30', text] },
        { ...base, projectId: text, projectPeriodKeys: ['day:x'] },
        { ...base, projectId: 'prj_1', projectPeriodKeys: [text] },
      ]) {
        expect(parsed(reservationLine(r))).toEqual(viaStringify(r));
      }
    }
    for (const usd of [NaN, Infinity, -Infinity]) expect(parsed(reservationLine({ ...base, usd }))).toEqual(viaStringify({ ...base, usd }));
    expect(parsed(reservationLine({ ...base, createdAt: NaN }))).toEqual(viaStringify({ ...base, createdAt: NaN }));
  });

  it('matches JSON.stringify over many random records', () => {
    const alphabet = 'abcXYZ019_:.-@"\\\n\u2028é ';
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const text = (): string => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 2000; i++) {
      const r: ReservationRecord = {
        id: text(),
        keyId: text(),
        usd: random() < 0.1 ? -random() : random() * 10 ** Math.floor(random() * 12 - 6),
        periodKeys: Array.from({ length: Math.floor(random() * 3) }, text),
        createdAt: Math.floor(random() * 2e12),
        ...(random() < 0.5 ? { projectId: text(), projectPeriodKeys: Array.from({ length: Math.floor(random() * 3) }, text) } : {}),
      };
      expect(parsed(reservationLine(r))).toEqual(viaStringify(r));
    }
  });
});
