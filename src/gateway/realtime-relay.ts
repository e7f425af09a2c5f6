import type { RawData, WebSocket } from 'ws';
import { asKeywardenError, KeywardenError } from '../errors/index.js';
import { uuid7 } from '../util/uuid7.js';

/**
 * Relays one Realtime WebSocket session between the app (client) and the provider (upstream). Every client event
 * passes `clientEvent` (model checks) and every server event passes `serverEvent` (scrubbing, usage) on the way.
 * A slow reader pauses the other side instead of letting frames pile up in memory, and whichever side ends the
 * session, the other is closed with a code it may be sent.
 */
export interface RealtimeRelayHooks {
  /** The text to send upstream for a client event, or the refusal to answer it with (it is not sent). */
  clientEvent(text: string): string | KeywardenError;
  /** The text to send the client for a server event (scrubbed). */
  serverEvent(text: string): string;
  /** The upstream's close reason as the client may see it (scrubbed). */
  closeReason(text: string): string;
  /** Called once, when the session ends (however it ended). */
  ended(end: RealtimeEnd): void;
}

export interface RealtimeEnd {
  /** Who ended it: a side closing or failing, or the gateway (a refused key, shutdown). */
  by: 'client' | 'upstream' | 'gateway';
  code: number;
}

/** Bytes sent to one side and not yet flushed past which the other side is paused, and below which it resumes. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;
/** Close reasons are at most 123 bytes on the wire. */
const MAX_REASON_BYTES = 123;

/** A close code one may send (1005 and 1006 only describe what happened; 1015 is TLS). */
function sendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

function shortReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}

/** OpenAI's Realtime error event, so SDKs surface a refusal as they would the provider's own. */
export function realtimeErrorEvent(err: KeywardenError, clientEventId: string | null): string {
  return JSON.stringify({
    type: 'error',
    event_id: `event_kw${uuid7(Date.now()).replaceAll('-', '')}`,
    error: { type: err.type, code: err.apiCode, message: err.message, param: err.param, event_id: clientEventId },
  });
}

/** One direction's flow control: the source is paused while its destination has too much unflushed. */
class Flow {
  private pending = 0;
  constructor(
    private readonly source: WebSocket,
    private readonly destination: WebSocket,
  ) {}

  send(data: string): void {
    if (this.destination.readyState !== this.destination.OPEN) return;
    const bytes = data.length;
    this.pending += bytes;
    if (this.pending > HIGH_WATER_BYTES && !this.source.isPaused) this.source.pause();
    this.destination.send(data, () => {
      this.pending -= bytes;
      if (this.pending < LOW_WATER_BYTES && this.source.isPaused) this.source.resume();
    });
  }
}

export class RealtimeRelay {
  private done = false;
  private readonly toUpstream: Flow;
  private readonly toClient: Flow;

  constructor(
    private readonly client: WebSocket,
    private readonly upstream: WebSocket,
    private readonly hooks: RealtimeRelayHooks,
  ) {
    this.toUpstream = new Flow(client, upstream);
    this.toClient = new Flow(upstream, client);
    client.on('message', (data, isBinary) => this.fromClient(data, isBinary));
    upstream.on('message', (data) => this.fromUpstream(data));
    client.on('close', (code, reason) => this.end('client', code, reason.toString()));
    upstream.on('close', (code, reason) => this.end('upstream', code, hooks.closeReason(reason.toString())));
    // An error is followed by close; without a listener ws would throw it.
    client.on('error', () => this.end('client', 1006, ''));
    upstream.on('error', () => this.end('upstream', 1011, 'The upstream connection failed.'));
  }

  /** Refuses the session from the gateway's side: the client gets the error event, then both sides are closed. */
  refuse(err: unknown, closeCode = 1008): void {
    const error = asKeywardenError(err);
    if (this.client.readyState === this.client.OPEN) this.client.send(realtimeErrorEvent(error, null));
    this.end('gateway', closeCode, error.message);
  }

  private fromClient(data: RawData, isBinary: boolean): void {
    if (this.done) return;
    if (isBinary) {
      this.client.send(realtimeErrorEvent(new KeywardenError('KW_BAD_REQUEST', { message: 'Realtime events are JSON text frames.' }), null));
      return;
    }
    const text = rawText(data);
    const outcome = this.hooks.clientEvent(text);
    if (typeof outcome === 'string') this.toUpstream.send(outcome);
    else this.client.send(realtimeErrorEvent(outcome, clientEventIdOf(text)));
  }

  /** The Realtime API speaks JSON text; a binary frame is relayed as text, so it is scrubbed all the same. */
  private fromUpstream(data: RawData): void {
    if (this.done) return;
    this.toClient.send(this.hooks.serverEvent(rawText(data)));
  }

  private end(by: RealtimeEnd['by'], code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    const sent = sendableCode(code) ? code : by === 'client' ? 1000 : 1011;
    const text = shortReason(reason);
    if (by !== 'client') closeSide(this.client, sent, text);
    if (by !== 'upstream') closeSide(this.upstream, by === 'client' ? sent : 1000, by === 'client' ? text : '');
    this.hooks.ended({ by, code });
  }
}

function closeSide(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.CLOSED || socket.readyState === socket.CLOSING) return;
  try {
    socket.close(code, reason);
  } catch {
    socket.terminate();
  }
  // A peer that never answers the close handshake is cut after a while, not held forever.
  setTimeout(() => socket.terminate(), 5000).unref();
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The client's `event_id`, echoed in a refusal so the SDK can match it; only a short string is read back. */
function clientEventIdOf(text: string): string | null {
  const match = /"event_id"\s*:\s*"([A-Za-z0-9_.:-]{1,128})"/.exec(text.length > 4096 ? text.slice(0, 4096) : text);
  return match?.[1] ?? null;
}
