import { describe, expect, it } from 'vitest';
import { parseDuration, parseTimeOrDuration } from './duration.js';

describe('durations', () => {
  it('parses units and bare seconds', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('-5m')).toBeNull();
  });

  it('parses relative durations and ISO dates into absolute times', () => {
    expect(parseTimeOrDuration('1h', 1_000)).toBe(3_601_000);
    expect(parseTimeOrDuration('2030-01-02T03:04:05Z', 0)).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
    expect(parseTimeOrDuration('2030-13-45', 0)).toBeNull();
    expect(parseTimeOrDuration('tomorrow', 0)).toBeNull();
  });
});
