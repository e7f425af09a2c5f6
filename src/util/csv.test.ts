import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';

describe('toCsv', () => {
  it('quotes separators and neutralises spreadsheet formulas', () => {
    expect(toCsv(['model', 'cost'], [['=HYPERLINK("x")', 1.5], ['a,b', null], ['-1', -1]])).toBe(
      'model,cost\r\n"\'=HYPERLINK(""x"")",1.5\r\n"a,b",\r\n\'-1,-1\r\n',
    );
  });
});
