import { describe, expect, it } from 'vitest';
import { WindowSequence } from '../../bench/gateway/rewarm.js';

describe('WindowSequence', () => {
  it('asks for a re-warm on the first window and whenever the target, the point or the client changes, and only then', () => {
    const windows = new WindowSequence();
    expect(windows.switchesTo('floor', 'json-c1', 'wrk')).toBe(true);
    // The second of two back-to-back windows of the same target at the same point: already warm.
    expect(windows.switchesTo('floor', 'json-c1', 'wrk')).toBe(false);
    expect(windows.switchesTo('keywarden', 'json-c1', 'wrk')).toBe(true);
    expect(windows.switchesTo('keywarden', 'json-c1', 'wrk')).toBe(false);
    // Back to a target that sat idle in between.
    expect(windows.switchesTo('floor', 'json-c1', 'wrk')).toBe(true);
    // Same target, another point (other connections, another body).
    expect(windows.switchesTo('floor', 'sse-c1', 'wrk')).toBe(true);
    // Same target and point, the streaming client after wrk.
    expect(windows.switchesTo('floor', 'sse-c1', 'stream')).toBe(true);
    expect(windows.switchesTo('floor', 'sse-c1', 'stream')).toBe(false);
  });

  it('does not confuse ids that join to the same text', () => {
    const windows = new WindowSequence();
    expect(windows.switchesTo('a-b', 'c', 'wrk')).toBe(true);
    expect(windows.switchesTo('a', 'b-c', 'wrk')).toBe(true);
  });
});
