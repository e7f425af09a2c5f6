// Writes a handler's Reply to the socket, applying the behavior's timing faults: a delay before headers,
// pauses between SSE frames, and a mid-stream cut that destroys the socket instead of ending the body.
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OkBehavior, Reply } from './fake-openai-types.js';

// Headers OpenAI sends on every answer; tests can check which of them the gateway passes through.
const COMMON_HEADERS: readonly string[] = [
  'openai-organization', 'org-fakeupstream',
  'openai-processing-ms', '7',
  'openai-version', '2020-10-01',
  'x-ratelimit-limit-requests', '10000',
  'x-ratelimit-limit-tokens', '30000000',
  'x-ratelimit-remaining-requests', '9999',
  'x-ratelimit-remaining-tokens', '29999000',
  'x-ratelimit-reset-requests', '6ms',
  'x-ratelimit-reset-tokens', '2ms',
];

/** Resolves false when the connection went away first, so callers stop writing into a dead socket. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function headersFor(requestId: string, contentType: string, extra?: readonly string[]): string[] {
  const headers = COMMON_HEADERS.concat('x-request-id', requestId, 'content-type', contentType);
  return extra === undefined ? headers : headers.concat(extra);
}

function writeFrame(res: ServerResponse, frame: string): Promise<void> {
  return new Promise((resolve) => {
    res.write(frame, () => resolve());
  });
}

async function sendFrames(res: ServerResponse, frames: readonly string[], behavior: OkBehavior, signal: AbortSignal) {
  const cutAfter = behavior.cutAfterChunks;
  const gap = behavior.chunkDelayMs ?? 0;
  if (cutAfter === undefined && gap <= 0) {
    // Hot path: one write for the whole stream.
    res.end(frames.join(''));
    return;
  }
  const limit = cutAfter === undefined ? frames.length : Math.min(cutAfter, frames.length);
  for (let i = 0; i < limit; i++) {
    if (i > 0 && !(await pause(gap, signal))) return;
    await writeFrame(res, frames[i] ?? '');
  }
  if (cutAfter === undefined) {
    res.end();
    return;
  }
  // Destroying instead of ending means no terminating chunk: the client sees a truncated body, as when
  // OpenAI's connection drops mid-stream.
  res.destroy();
}

export async function sendReply(
  res: ServerResponse,
  reply: Reply,
  behavior: OkBehavior,
  signal: AbortSignal,
  requestId: string,
): Promise<void> {
  if (!(await pause(behavior.delayMs ?? 0, signal))) return;
  switch (reply.kind) {
    case 'json':
      res.writeHead(reply.status, headersFor(requestId, 'application/json', reply.headers));
      res.end(reply.body);
      return;
    case 'bytes':
      res.writeHead(reply.status, headersFor(requestId, reply.contentType));
      res.end(reply.body);
      return;
    case 'sse':
      res.writeHead(200, headersFor(requestId, 'text/event-stream; charset=utf-8', ['cache-control', 'no-cache']));
      await sendFrames(res, reply.frames, behavior, signal);
      return;
  }
}
