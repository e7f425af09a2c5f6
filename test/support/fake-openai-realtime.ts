// The fake upstream's Realtime API over WebSocket (`GET /v1/realtime?model=…`), with the GA event shapes: it checks
// the key at the handshake (an HTTP 401 echoing the key masked, as OpenAI does), refuses a model it does not serve
// (HTTP 400), greets with `session.created`, answers `session.update` and `response.create` (text deltas, then
// `response.done` with usage in OpenAI's Realtime spelling), and counts appended audio. What it was sent and what
// it billed are kept per session, so tests judge the gateway against them.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export const REALTIME_MODELS = new Set(['gpt-realtime', 'gpt-realtime-mini', 'gpt-4o-realtime-preview', 'gpt-4o-mini-realtime-preview']);

/** The usage the fake reports for one response, in OpenAI's Realtime shape. */
export interface RealtimeUsage {
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  input_token_details: {
    text_tokens: number;
    audio_tokens: number;
    image_tokens: number;
    cached_tokens: number;
    cached_tokens_details: { text_tokens: number; audio_tokens: number; image_tokens: number };
  };
  output_token_details: { text_tokens: number; audio_tokens: number };
}

export interface FakeRealtimeSession {
  /** The model asked for, or the Azure deployment. */
  model: string;
  /** The query string of the upgrade request. */
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  presentedKey: string | undefined;
  /** Every client event, parsed, in order. */
  events: Record<string, unknown>[];
  /** Every client event as the text that arrived. */
  raw: string[];
  /** The usage of every response.done the fake sent. */
  usages: RealtimeUsage[];
  /** The session as the last session.update left it. */
  session: Record<string, unknown>;
  socket: WebSocket;
  closed: { code: number } | null;
}

export interface FakeRealtime {
  sessions: FakeRealtimeSession[];
  last(): FakeRealtimeSession | undefined;
  /** Sends a raw text frame to the app, from the newest open session (a hostile or odd upstream). */
  sendRaw(text: string): void;
  reset(): void;
}

/** Audio bytes per audio token the fake bills (24 kHz 16-bit PCM is 48,000 bytes a second; OpenAI bills ~10 tokens a second). */
export const AUDIO_BYTES_PER_TOKEN = 4800;

const mask = (key: string): string => `${key.slice(0, 8)}${'*'.repeat(20)}${key.slice(-4)}`;

function httpAnswer(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

function usageFor(textIn: number, audioIn: number, audioOut: boolean): RealtimeUsage {
  // A conversation's earlier turns are cached: the fake reports a fixed share of each kind as cached.
  const cachedText = Math.floor(textIn / 4);
  const cachedAudio = Math.floor(audioIn / 2);
  const textOut = 12;
  const audioOutTokens = audioOut ? 90 : 0;
  const input = textIn + audioIn;
  const output = textOut + audioOutTokens;
  return {
    total_tokens: input + output,
    input_tokens: input,
    output_tokens: output,
    input_token_details: {
      text_tokens: textIn,
      audio_tokens: audioIn,
      image_tokens: 0,
      cached_tokens: cachedText + cachedAudio,
      cached_tokens_details: { text_tokens: cachedText, audio_tokens: cachedAudio, image_tokens: 0 },
    },
    output_token_details: { text_tokens: textOut, audio_tokens: audioOutTokens },
  };
}

let counter = 0;
const id = (prefix: string): string => `${prefix}_${(++counter).toString(36).padStart(8, '0')}`;

export function attachFakeRealtime(server: Server, keys: () => readonly string[] | undefined): FakeRealtime {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const sessions: FakeRealtimeSession[] = [];

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    // Azure's dated API: /openai/realtime?api-version=…&deployment=…, with the `api-key` header.
    const azure = url.pathname === '/openai/realtime';
    if (url.pathname !== '/v1/realtime' && !azure) return httpAnswer(socket, 404, { error: { message: 'Invalid URL', type: 'invalid_request_error', param: null, code: null } });
    if (azure && (url.searchParams.get('api-version') === null || url.searchParams.get('deployment') === null)) {
      return httpAnswer(socket, 400, { error: { message: 'api-version and deployment are required', type: 'invalid_request_error', param: null, code: null } });
    }
    const auth = req.headers.authorization;
    const apiKey = req.headers['api-key'];
    const presented = azure ? (typeof apiKey === 'string' ? apiKey : undefined) : auth?.startsWith('Bearer ') === true ? auth.slice(7) : undefined;
    const allowed = keys();
    if (allowed !== undefined && (presented === undefined || !allowed.includes(presented))) {
      return httpAnswer(socket, 401, {
        error: { message: `Incorrect API key provided: ${mask(presented ?? '')}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
    }
    // An Azure deployment is named by its owner: any name serves (it is recorded as the session's model).
    const model = azure ? (url.searchParams.get('deployment') as string) : (url.searchParams.get('model') ?? 'gpt-realtime');
    if (!azure && !REALTIME_MODELS.has(model)) {
      return httpAnswer(socket, 400, { error: { message: `Model "${model}" is not a Realtime model.`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session: FakeRealtimeSession = {
        model,
        query: url.searchParams,
        headers: req.headers,
        presentedKey: presented,
        events: [],
        raw: [],
        usages: [],
        session: { id: id('sess'), object: 'realtime.session', type: 'realtime', model, output_modalities: ['audio'] },
        socket: ws,
        closed: null,
      };
      sessions.push(session);
      let audioBytes = 0;
      let textChars = 0;
      const send = (event: Record<string, unknown>): void => ws.send(JSON.stringify({ event_id: id('event'), ...event }));
      send({ type: 'session.created', session: session.session });
      ws.on('close', (code) => {
        session.closed = { code };
      });
      ws.on('message', (data: Buffer) => {
        session.raw.push(data.toString());
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(data.toString()) as Record<string, unknown>;
        } catch {
          send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_json', message: 'Invalid JSON', param: null, event_id: null } });
          return;
        }
        session.events.push(event);
        switch (event.type) {
          case 'session.update':
            session.session = { ...session.session, ...(event.session as Record<string, unknown>) };
            send({ type: 'session.updated', session: session.session });
            break;
          case 'input_audio_buffer.append':
            audioBytes += Buffer.from(String(event.audio), 'base64').length;
            break;
          case 'conversation.item.create':
            textChars += JSON.stringify(event.item ?? {}).length;
            break;
          case 'response.create': {
            const responseId = id('resp');
            const modalities = (session.session.output_modalities as string[] | undefined) ?? ['audio'];
            send({ type: 'response.created', response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } });
            for (const delta of ['Hello', ' from', ' the fake.']) send({ type: 'response.output_text.delta', response_id: responseId, item_id: 'item_1', output_index: 0, content_index: 0, delta });
            // Every response bills the whole conversation so far as input, as OpenAI's does.
            const usage = usageFor(40 + Math.ceil(textChars / 4), Math.ceil(audioBytes / AUDIO_BYTES_PER_TOKEN), modalities.includes('audio'));
            session.usages.push(usage);
            send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status: 'completed', output: [], usage } });
            break;
          }
          case 'test.leak_key':
            // A hostile or careless upstream: an error event quoting the key it was given.
            send({ type: 'error', error: { type: 'invalid_request_error', code: 'leak', message: `key ${presented ?? ''} is odd`, param: null, event_id: null } });
            break;
          default:
            break;
        }
      });
    });
  });

  return {
    sessions,
    last: () => sessions.at(-1),
    sendRaw(text) {
      const open = [...sessions].reverse().find((s) => s.closed === null);
      open?.socket.send(text);
    },
    reset() {
      for (const session of sessions) session.socket.terminate();
      sessions.length = 0;
    },
  };
}
