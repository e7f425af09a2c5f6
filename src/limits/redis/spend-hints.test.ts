import { describe, expect, it } from 'vitest';
import { HINT_FRESH_MS, SpendHints } from './spend-hints.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('SpendHints', () => {
  it('ignores a reply older than the hint it has (replies can be handled out of order across batches)', () => {
    const hints = new SpendHints(clock().now);
    hints.record('key_a', 'day:x', 0.5, 10);
    hints.record('key_a', 'day:x', 0.2, 9);
    expect(hints.used('key_a', 'day:x')).toBe(0.5);
  });

  it('carries a queued settlement until a reply of a later operation (which includes it) replaces the hint', () => {
    const hints = new SpendHints(clock().now);
    hints.record('key_a', 'day:x', 0.3, 1);
    hints.adjust('key_a', 'day:x', -0.2, 3);
    expect(hints.used('key_a', 'day:x')).toBeCloseTo(0.1, 12);
    // A reply of operation 2 ran before the settlement (3): the settlement still has to be added.
    hints.record('key_a', 'day:x', 0.6, 2);
    expect(hints.used('key_a', 'day:x')).toBeCloseTo(0.4, 12);
    // Operation 4 ran after it: its figure already includes the settlement.
    hints.record('key_a', 'day:x', 0.4, 4);
    expect(hints.used('key_a', 'day:x')).toBeCloseTo(0.4, 12);
  });

  it('is not used once older than HINT_FRESH_MS', () => {
    const c = clock();
    const hints = new SpendHints(c.now);
    hints.record('key_a', 'day:x', 0.3, 1);
    c.advance(HINT_FRESH_MS);
    expect(hints.used('key_a', 'day:x')).toBe(0.3);
    c.advance(1);
    expect(hints.used('key_a', 'day:x')).toBeUndefined();
  });

  it('keeps owners and periods apart, even when the ids contain the separator of the other', () => {
    const hints = new SpendHints(clock().now);
    hints.record('key_a', 'day:x', 0.3, 1);
    expect(hints.used('key_a', 'day:y')).toBeUndefined();
    expect(hints.used('prj_a', 'day:x')).toBeUndefined();
    hints.record('key_a\nday:x', '', 0.9, 2);
    expect(hints.used('key_a', 'day:x')).toBe(0.3);
  });

  it('refuses NaN and infinite figures (a garbled reply must not become a hint)', () => {
    const hints = new SpendHints(clock().now);
    hints.record('key_a', 'day:x', Number.NaN, 1);
    hints.record('key_b', 'day:x', Number.POSITIVE_INFINITY, 1);
    expect(hints.used('key_a', 'day:x')).toBeUndefined();
    expect(hints.used('key_b', 'day:x')).toBeUndefined();
    hints.record('key_a', 'day:x', 0.1, 2);
    hints.adjust('key_a', 'day:x', Number.NaN, 3);
    expect(hints.used('key_a', 'day:x')).toBe(0.1);
  });

  it('drops a hint that nothing confirms any more rather than growing without bound', () => {
    const hints = new SpendHints(clock().now);
    hints.record('key_a', 'day:x', 0, 1);
    for (let seq = 2; seq < 2 + 10_000; seq++) hints.adjust('key_a', 'day:x', 0.001, seq);
    expect(hints.used('key_a', 'day:x')).toBeUndefined();
  });

  it('forgets on demand, and an adjustment without a hint creates none', () => {
    const hints = new SpendHints(clock().now);
    hints.adjust('key_a', 'day:x', 0.5, 1);
    expect(hints.used('key_a', 'day:x')).toBeUndefined();
    hints.record('key_a', 'day:x', 0.5, 2);
    hints.forget('key_a', 'day:x');
    expect(hints.used('key_a', 'day:x')).toBeUndefined();
  });

  it('starts over past 10,000 (owner, period) hints, counting forgotten ones out', () => {
    const hints = new SpendHints(clock().now);
    for (let i = 0; i < 10_000; i++) hints.record(`key_${i % 100}`, `day:${i}`, 0.1, 1);
    // Forgetting makes room: this one is the 10,000th, not the 10,001st.
    hints.forget('key_0', 'day:0');
    hints.record('key_x', 'day:x', 0.2, 1);
    expect(hints.used('key_1', 'day:1')).toBe(0.1);
    expect(hints.used('key_x', 'day:x')).toBe(0.2);
    // One more: the map starts over with it.
    hints.record('key_y', 'day:y', 0.3, 1);
    expect(hints.used('key_1', 'day:1')).toBeUndefined();
    expect(hints.used('key_x', 'day:x')).toBeUndefined();
    expect(hints.used('key_y', 'day:y')).toBe(0.3);
  });

  it('keeps the queued settlements a reply does not include, in their order, whatever order they were queued in', () => {
    const hints = new SpendHints(clock().now);
    hints.record('key_a', 'day:x', 1, 1);
    hints.adjust('key_a', 'day:x', -0.1, 5);
    hints.adjust('key_a', 'day:x', -0.2, 3);
    hints.adjust('key_a', 'day:x', -0.4, 7);
    // Operation 4's reply includes 3 but not 5 and 7.
    hints.record('key_a', 'day:x', 0.8, 4);
    expect(hints.used('key_a', 'day:x')).toBeCloseTo(0.8 - 0.1 - 0.4, 12);
    hints.record('key_a', 'day:x', 0.7, 6);
    expect(hints.used('key_a', 'day:x')).toBeCloseTo(0.7 - 0.4, 12);
  });
});
