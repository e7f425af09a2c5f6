import { describe, expect, it } from 'vitest';
import { uuid7 } from './uuid7.js';

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid7', () => {
  it('has the RFC 9562 version-7 shape and carries the timestamp', () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = uuid7(ms);
    expect(id).toMatch(SHAPE);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts by time across milliseconds and stays unique within one', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => uuid7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect((ids[i - 10] as string) < (ids[i] as string)).toBe(true);
    for (const id of ids) expect(id).toMatch(SHAPE);
  });

  it('clamps timestamps outside the 48-bit range instead of throwing', () => {
    expect(uuid7(-5)).toMatch(/^00000000-0000-7/);
    expect(uuid7(2 ** 60)).toMatch(/^ffffffff-ffff-7/);
  });
});
