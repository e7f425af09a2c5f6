import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { asKeywardenError, KeywardenError, toOpenAIError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { guardedNetLookup, type OutboundLookup } from '../policy/outbound-connect.js';
import type { OutboundPolicy } from '../policy/outbound-url.js';
import { isJsonObject } from '../util/json-object.js';
import { forwardRequestHeaders } from './headers.js';
import { RealtimeRelay, type RealtimeEnd } from './realtime-relay.js';
import { sessionModelsOf } from './realtime-models.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import type { UpstreamRuntime } from './upstream-registry.js';
import { normalizeUsage, type MeteredTokens } from './usage-parse.js';

/**
 * A Realtime session over WebSocket (`GET /v1/realtime?model=…` with `Upgrade: websocket`), once the gateway has
 * admitted it (create-gateway.ts): the upstream connection is opened with the vaulted key first, so a refusal by
 * the provider reaches the app as an HTTP answer (scrubbed), and only then is the app's upgrade accepted. While the
 * session lasts, every `session.update` is held to the key's model scopes, every server event is scrubbed of key
 * material, each `response.done` is metered, and the key is checked again every second: revoking or suspending it
 * ends its open sessions.
 */
export interface RealtimeSessionPlan {
  requestId: string;
  upstream: UpstreamRuntime;
  /** The upstream's Realtime URL (ws: or wss:), query string included. */
  url: string;
  /** The upstream's auth header(s) for this session. */
  authHeaders: Record<string, string>;
  /** The key or its project is limited to models (now): every session event is read and its models checked. */
  readonly modelsLimited: boolean;
  /** Throws the refusal when a model a client event names is not allowed. */
  checkModels(models: readonly string[]): void;
  /** Throws (or rejects) when the key may no longer hold the session: revoked, expired, suspended, re-scoped. */
  recheck(): void | Promise<void>;
  /** One response of the session finished; its usage, as the provider reported it (null: none reported). */
  responseDone(tokens: MeteredTokens | null): void;
  /** The handshake failed (the status the app got) or the session ended (101). Called once. */
  ended(status: number, errorCode: string | null): void;
}

export interface RealtimeSessionOptions {
  logger: Logger;
  outbound: OutboundPolicy;
  lookup?: OutboundLookup;
  /** The largest event either side may send (the server's maximum body). */
  maxFrameBytes: number;
  /** How long the upstream's handshake may take. */
  handshakeTimeoutMs: number;
  /** How often an open session's key is checked again. */
  recheckMs: number;
}

/** Subprotocols passed on to the provider. Anything else (OpenAI's `openai-insecure-api-key.<key>`) stays here. */
const FORWARDED_PROTOCOLS = new Set(['realtime', 'openai-beta.realtime-v1']);
/** The handshake headers ws writes itself. */
const HANDSHAKE_HEADERS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol'];
/** An upstream refusal's body is read up to this size, to pass on (scrubbed). */
const MAX_REFUSAL_BYTES = 64 * 1024;
/** Server events longer than this are not searched for escaped event types (audio deltas are the long ones). */
const MAX_ESCAPED_SCAN = 1024 * 1024;
/** Error events are short: these get the error scrubber (masked and partial key echoes too). */
const MAX_ERROR_EVENT = 64 * 1024;

/** Is this an upgrade request ws would accept? Checked before any work, so a bad handshake opens no upstream. */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  const key = req.headers['sec-websocket-key'];
  return (
    req.method === 'GET' &&
    typeof upgrade === 'string' &&
    upgrade.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    req.headers['sec-websocket-version'] === '13'
  );
}

/** The app's offered subprotocols that may be passed on. */
function forwardedProtocols(headers: IncomingHttpHeaders): string[] {
  const offered = headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return [];
  return offered
    .split(',')
    .map((protocol) => protocol.trim())
    .filter((protocol) => FORWARDED_PROTOCOLS.has(protocol));
}

/** Answers an upgrade the gateway refuses with an ordinary HTTP error (OpenAI's JSON), then closes the socket. */
export function refuseUpgrade(socket: Duplex, err: unknown, requestId: string): KeywardenError {
  const error = asKeywardenError(err);
  writeRawAnswer(socket, error.status, JSON.stringify(toOpenAIError(error)), requestId, error.headers);
  return error;
}

function writeRawAnswer(socket: Duplex, status: number, body: string, requestId: string, extra: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const headers = { ...extra, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), [REQUEST_ID_HEADER]: requestId, connection: 'close' };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`);
}

export class RealtimeSessions {
  /** Accepts the app's side of the upgrade; one for every session (no server of its own). */
  private readonly server: WebSocketServer;
  /** The subprotocol the upstream chose, per upgrade request, for the app's handshake to answer with. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly open = new Set<RealtimeRelay>();

  constructor(private readonly options: RealtimeSessionOptions) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      // The upstream's choice; else `realtime` when offered (a browser fails a handshake that selects none of the
      // protocols it offered, and the key subprotocol must never be echoed).
      handleProtocols: (offered, req) => this.chosen.get(req) ?? (offered.has('realtime') ? 'realtime' : false),
    });
  }

  /** Sessions open now. */
  get size(): number {
    return this.open.size;
  }

  start(req: IncomingMessage, socket: Duplex, head: Buffer, plan: RealtimeSessionPlan): void {
    let lookup;
    const target = new URL(plan.url);
    try {
      lookup = guardedNetLookup(this.options.outbound, target.hostname, Number(target.port || (target.protocol === 'wss:' ? 443 : 80)), this.options.lookup);
    } catch (err) {
      this.failed(socket, plan, new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { cause: err }));
      return;
    }
    const headers = forwardRequestHeaders(req.headers);
    for (const name of HANDSHAKE_HEADERS) delete headers[name];
    delete headers['accept-encoding'];
    const upstream = new WebSocket(plan.url, forwardedProtocols(req.headers), {
      headers: { ...headers, ...plan.authHeaders },
      lookup,
      maxPayload: this.options.maxFrameBytes,
      perMessageDeflate: false,
      followRedirects: false,
      handshakeTimeout: this.options.handshakeTimeoutMs,
    });
    let settled = false;
    // The app's socket is not read until the upgrade completes, so its leaving would go unseen for as long as the
    // upstream takes to answer (its handshake timeout): it is read meanwhile. An app sends nothing before the 101.
    const discard = (): void => undefined;
    const appLeft = (): void => {
      if (settled) return;
      settled = true;
      upstream.terminate();
      socket.destroy();
      plan.ended(499, 'client_disconnected');
    };
    const stopWatching = (): void => {
      socket.off('data', discard);
      socket.off('end', appLeft);
      socket.off('close', appLeft);
      // As Node leaves an upgraded socket: neither flowing nor paused, so the next reader (ws) starts it.
      socket.pause();
      (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    };
    socket.on('data', discard);
    socket.once('end', appLeft);
    socket.once('close', appLeft);
    socket.on('error', () => socket.destroy());
    upstream.once('unexpected-response', (_request, response) => {
      if (settled) return;
      settled = true;
      stopWatching();
      // The provider's refusal (a wrong model, the vaulted key refused) goes to the app as it was, scrubbed. Its body
      // is read up to a bound and for a bounded time: a hostile upstream cannot hold the app's socket open.
      const chunks: Buffer[] = [];
      let size = 0;
      let answered = false;
      const answer = (): void => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        upstream.terminate();
        const status = response.statusCode ?? 502;
        const text = Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BYTES).toString('utf8');
        const body = holdsJsonObject(text) ? plan.upstream.scrub.error(text) : JSON.stringify(toOpenAIError(new KeywardenError('KW_UPSTREAM_UNAVAILABLE')));
        writeRawAnswer(socket, status, body, plan.requestId);
        if (status === 401 || status === 403) this.options.logger.warn('upstream refused the vaulted key', { upstreamId: plan.upstream.record.id, status });
        plan.ended(status, `upstream_${status}`);
      };
      const timer = setTimeout(answer, this.options.handshakeTimeoutMs);
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_REFUSAL_BYTES) answer();
      });
      response.once('end', answer);
      response.once('close', answer);
      response.once('error', answer);
    });
    upstream.once('error', (err) => {
      if (settled) return;
      settled = true;
      stopWatching();
      this.failed(socket, plan, /timed out|timeout/i.test(err.message) ? new KeywardenError('KW_UPSTREAM_TIMEOUT') : new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { cause: err }));
    });
    upstream.once('open', () => {
      if (settled) {
        upstream.terminate();
        return;
      }
      settled = true;
      stopWatching();
      if (upstream.protocol !== '') this.chosen.set(req, upstream.protocol);
      this.server.handleUpgrade(req, socket, head, (client) => this.relay(client, upstream, plan));
    });
  }

  /** Ends every open session (shutdown): the apps get 1001, going away. */
  closeAll(): void {
    for (const relay of this.open) relay.refuse(new KeywardenError('KW_UPSTREAM_UNAVAILABLE', { message: 'The gateway is shutting down.' }), 1001);
  }

  private failed(socket: Duplex, plan: RealtimeSessionPlan, error: KeywardenError): void {
    this.options.logger.warn('realtime upstream connection failed', { upstreamId: plan.upstream.record.id, code: error.code, cause: error.cause instanceof Error ? error.cause.message : undefined });
    refuseUpgrade(socket, error, plan.requestId);
    plan.ended(error.status, error.apiCode);
  }

  private relay(client: WebSocket, upstream: WebSocket, plan: RealtimeSessionPlan): void {
    const watch = setInterval(() => {
      try {
        const checked = plan.recheck();
        if (checked instanceof Promise) checked.catch((err: unknown) => relay.refuse(err));
      } catch (err) {
        relay.refuse(err);
      }
    }, this.options.recheckMs);
    watch.unref();
    const relay: RealtimeRelay = new RealtimeRelay(client, upstream, {
      clientEvent: (text) => (plan.modelsLimited ? checkedClientEvent(text, plan) : text),
      serverEvent: (text) => {
        meterServerEvent(text, plan);
        return text.length <= MAX_ERROR_EVENT && text.includes('error') ? plan.upstream.scrub.error(text) : plan.upstream.scrub.any(text);
      },
      // A close reason is never metered, and is as short as an error: the error scrubber.
      closeReason: (text) => plan.upstream.scrub.error(text),
      ended: (end: RealtimeEnd) => {
        clearInterval(watch);
        this.open.delete(relay);
        plan.ended(101, end.by === 'gateway' ? 'session_refused' : null);
      },
    });
    this.open.add(relay);
  }
}

function holdsJsonObject(text: string): boolean {
  try {
    return isJsonObject(JSON.parse(text));
  } catch {
    return false;
  }
}

/**
 * A client event of a key limited to models: an event that could name a model is parsed and its models checked,
 * and the event is sent as the gateway re-serialized it, so the provider reads exactly what was checked (a key
 * given twice collapses to the one checked). An event that neither spells `session` nor escapes a character cannot
 * be a session update, and passes as it is (audio appends are most of the traffic).
 */
function checkedClientEvent(text: string, plan: RealtimeSessionPlan): string | KeywardenError {
  if (!text.includes('session') && !text.includes('\\')) return text;
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return new KeywardenError('KW_INVALID_JSON', { message: 'The event is not valid JSON.' });
  }
  if (!isJsonObject(event)) return new KeywardenError('KW_BAD_REQUEST', { message: 'A Realtime event is a JSON object.' });
  try {
    plan.checkModels(sessionModelsOf(event));
  } catch (err) {
    return asKeywardenError(err);
  }
  return JSON.stringify(event);
}

/** A `response.done` event carries the response's usage: one usage record per response. */
function meterServerEvent(text: string, plan: RealtimeSessionPlan): void {
  if (!text.includes('response.done') && !(text.length <= MAX_ESCAPED_SCAN && text.includes('\\u'))) return;
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return;
  }
  if (!isJsonObject(event) || event.type !== 'response.done') return;
  const response = event.response;
  plan.responseDone(normalizeUsage(isJsonObject(response) ? response.usage : undefined));
}
