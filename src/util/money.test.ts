import { describe, expect, it } from 'vitest';
import { formatUsd } from './money.js';

describe('formatUsd', () => {
  it.each([
    [0, '$0.00'],
    [0.0042, '$0.0042'],
    [0.00421, '$0.0042'],
    [0.01, '$0.01'],
    [0.0095, '$0.0095'],
    [0.5, '$0.50'],
    [0.999, '$1.00'],
    [1, '$1.00'],
    [12.345, '$12.35'],
    [1234.5, '$1234.50'],
    [0.00000012, '$0.00000012'],
    [-0.0042, '-$0.0042'],
  ])('%s → %s', (amount, text) => {
    expect(formatUsd(amount)).toBe(text);
  });

  it('never prints a non-zero amount as $0.00', () => {
    for (let exp = -10; exp < 0; exp++) expect(formatUsd(3 * 10 ** exp)).not.toBe('$0.00');
  });
});
