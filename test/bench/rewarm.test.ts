import { describe, expect, it } from 'vitest';
import { WindowSequence } from '../../bench/gateway/rewarm.js';

describe('WindowSequence', () => {
  it('asks for a re-warm on the first window and whenever the target or the point changes, and only then', () => {
    const windows = new WindowSequence();
    expect(windows.switchesTo('floor', 'json-c1')).toBe(true);
    // The second of two back-to-back windows of the same target at the same point: already warm.
    expect(windows.switchesTo('floor', 'json-c1')).toBe(false);
    expect(windows.switchesTo('keywarden', 'json-c1')).toBe(true);
    expect(windows.switchesTo('keywarden', 'json-c1')).toBe(false);
    // Back to a target that sat idle in between.
    expect(windows.switchesTo('floor', 'json-c1')).toBe(true);
    // Same target, another point (other connections, another body).
    expect(windows.switchesTo('floor', 'sse-c1')).toBe(true);
    expect(windows.switchesTo('floor', 'sse-c1')).toBe(false);
  });

  it('does not confuse a target id and a point id that join to the same text', () => {
    const windows = new WindowSequence();
    expect(windows.switchesTo('a-b', 'c')).toBe(true);
    expect(windows.switchesTo('a', 'b-c')).toBe(true);
  });
});
