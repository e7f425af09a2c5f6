import { describe, expect, it } from 'vitest';
import { pgArrayLiteral } from './pg-array-literal.js';

const same = <T,>(x: T): T => x;

describe('pgArrayLiteral', () => {
  it('quotes every string, escapes only quotes and backslashes, and writes NULL for null and undefined', () => {
    expect(pgArrayLiteral(['a', 'NULL', '', 'x,y', '{z}', ' sp ', 'q"uote', 'back\\slash', '\\"'], same)).toBe(
      '{"a","NULL","","x,y","{z}"," sp ","q\\"uote","back\\\\slash","\\\\\\""}',
    );
    expect(pgArrayLiteral([null, undefined, 'ünï☃'], same)).toBe('{NULL,NULL,"ünï☃"}');
    expect(pgArrayLiteral([], same)).toBe('{}');
  });

  it('writes finite numbers as they print, and NaN and infinities quoted as pg would', () => {
    expect(pgArrayLiteral([0, -1, 1_796_157_488_628, 0.0000066, 1e-7, 1.5e300], same)).toBe('{0,-1,1796157488628,0.0000066,1e-7,1.5e+300}');
    expect(pgArrayLiteral([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], same)).toBe('{"NaN","Infinity","-Infinity"}');
  });

  it('reads each item through the accessor', () => {
    expect(pgArrayLiteral([{ v: 'a' }, { v: null }], (item) => item.v)).toBe('{"a",NULL}');
  });
});
