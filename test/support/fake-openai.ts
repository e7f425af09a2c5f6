// A local fake of the OpenAI API on 127.0.0.1, used by every gateway test and benchmark instead of the
// network. It speaks OpenAI's real shapes (JSON, SSE, multipart, binary), records what it received, and
// injects upstream faults on demand. Usage and the fault catalogue: test/support/README.md.
import { attachFakeRealtime, type FakeRealtime } from './fake-openai-realtime.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatCompletions, legacyCompletions } from './fake-openai-chat.js';
import {
  createFineTuningJob, embeddings, listModels, moderations, realtimeClientSecret, retrieveModel, uploadFile,
} from './fake-openai-endpoints.js';
import {
  behaviorErrorReply, errorReply, htmlPageReply, invalidRequest, invalidUrlReply, missingKeyReply, wrongKeyReply,
} from './fake-openai-errors.js';
import { FAKE_IMAGE_PATH, FAKE_PNG, imageEdits, imageGenerations, speech, transcriptions } from './fake-openai-media.js';
import { multipartBoundary, parseMultipart, type MultipartBody } from './fake-openai-multipart.js';
import { responses } from './fake-openai-responses.js';
import { pause, sendReply } from './fake-openai-send.js';
import { createStoredObjects } from './fake-openai-stored.js';
import type {
  FakeBehavior, FakeOpenAIConfig, FakeOpenAIOptions, Handler, OkBehavior, RecordedRequest, Reply,
} from './fake-openai-types.js';
import { isObject, newId } from './fake-openai-util.js';

export type * from './fake-openai-types.js';
export { fakeEmbedding, FAKE_MODELS, MODERATION_TRIGGER } from './fake-openai-endpoints.js';
export { defaultReplyText, MODEL_SNAPSHOTS } from './fake-openai-generation.js';
export { FAKE_PNG, fakeSpeechAudio, fakeTranscriptText } from './fake-openai-media.js';
export { maskKey } from './fake-openai-errors.js';

export interface FakeOpenAI {
  /** Base URL for an OpenAI client: `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`: the Azure endpoint (`/openai/deployments/{d}/…` lives under it). */
  readonly origin: string;
  readonly port: number;
  /** Live list of recorded requests (empty when `record` is off). */
  readonly requests: readonly RecordedRequest[];
  /** Every request received, recorded or not. */
  readonly requestCount: number;
  lastRequest(): RecordedRequest | undefined;
  /** The behavior for every following request (until changed or `reset`). */
  setBehavior(behavior: FakeBehavior): void;
  /** One-shot behaviors, used in order by the next requests before falling back to `setBehavior`'s. */
  queueBehavior(...behaviors: FakeBehavior[]): void;
  configure(patch: Partial<FakeOpenAIConfig>): void;
  /** The Realtime API over WebSocket (fake-openai-realtime.ts): its sessions, and a way to push raw events. */
  readonly realtime: FakeRealtime;
  /** Forget requests and queued behaviors, and restore the start-up behavior and config. */
  reset(): void;
  close(): Promise<void>;
}

/** An error body that leaks the full presented key, to prove the gateway scrubs upstream errors. */
export function leakKeyBehavior(status = 401): FakeBehavior {
  return {
    type: 'error',
    status,
    message: 'Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.',
    code: 'invalid_api_key',
    errorType: 'invalid_request_error',
  };
}

const ROUTES = new Map<string, Handler>([
  ['POST /chat/completions', chatCompletions],
  ['POST /completions', legacyCompletions],
  ['POST /responses', responses],
  ['POST /embeddings', embeddings],
  ['POST /moderations', moderations],
  ['POST /images/generations', imageGenerations],
  ['POST /images/edits', imageEdits],
  ['POST /audio/speech', speech],
  ['POST /audio/transcriptions', transcriptions],
  ['POST /audio/translations', transcriptions],
  ['GET /models', listModels],
  ['POST /files', uploadFile],
  ['POST /fine_tuning/jobs', createFineTuningJob],
  ['POST /realtime/client_secrets', realtimeClientSecret],
]);

const AZURE_PREFIX = '/openai/deployments/';
const NEVER_ABORTED = new AbortController().signal;
const BAD_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
  'library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have ' +
  'trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)';

interface Target {
  route: string;
  deployment?: string;
  handler?: Handler;
  param?: string;
}

function resolveTarget(method: string, path: string): Target | undefined {
  let route: string;
  let deployment: string | undefined;
  if (path.startsWith('/v1/')) {
    route = path.slice(3);
  } else if (path.startsWith(AZURE_PREFIX)) {
    const rest = path.slice(AZURE_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return undefined;
    deployment = decodeURIComponent(rest.slice(0, slash));
    route = rest.slice(slash);
  } else {
    return undefined;
  }
  const target: Target = deployment === undefined ? { route } : { route, deployment };
  const handler = ROUTES.get(`${method} ${route}`);
  if (handler !== undefined) target.handler = handler;
  else if (method === 'GET' && route.startsWith('/models/') && route.length > 8) {
    target.handler = retrieveModel;
    target.param = decodeURIComponent(route.slice(8));
  }
  return target;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    // `close` after `end` is a no-op: the promise already settled.
    req.on('close', () => resolve(undefined));
    req.on('error', () => resolve(undefined));
  });
}

function presentedKey(req: IncomingMessage, azure: boolean): string | undefined {
  const apiKey = req.headers['api-key'];
  if (azure && typeof apiKey === 'string') return apiKey;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') === true ? auth.slice(7) : undefined;
}

function needsTiming(b: OkBehavior): boolean {
  return b.delayMs !== undefined || b.chunkDelayMs !== undefined || b.cutAfterChunks !== undefined;
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const initialConfig: FakeOpenAIConfig = {
    keyEcho: options.keyEcho ?? 'masked',
    record: options.record ?? true,
    snapshotModels: options.snapshotModels ?? true,
    apiKeys: options.apiKeys,
    reply: options.reply,
    usage: options.usage,
  };
  const initialBehavior: FakeBehavior = options.behavior ?? { type: 'ok' };
  let config = { ...initialConfig };
  let behavior = initialBehavior;
  const queue: FakeBehavior[] = [];
  const recorded: RecordedRequest[] = [];
  let requestCount = 0;
  let origin = '';
  // One store of stored objects for every caller, like OpenAI behind one key (fake-openai-stored.ts).
  const stored = createStoredObjects();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requestCount += 1;
    const requestId = newId('req_');
    const body = await readBody(req);
    if (body === undefined) return;
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? 'GET';
    const target = resolveTarget(method, path);
    const azure = target?.deployment !== undefined;
    const key = presentedKey(req, azure);

    const contentType = req.headers['content-type'];
    let json: unknown;
    let badJson = false;
    let multipart: MultipartBody | undefined;
    const boundary = multipartBoundary(contentType);
    if (boundary !== undefined) {
      multipart = parseMultipart(body, boundary);
    } else if (body.length > 0 && (contentType === undefined || contentType.includes('json'))) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        badJson = true;
      }
    }

    let record: RecordedRequest | undefined;
    if (config.record) {
      record = {
        method, path, route: target?.route ?? path, query: new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)),
        headers: req.headers, rawHeaders: req.rawHeaders, body, outcome: 'pending', receivedAt: Date.now(),
      };
      if (json !== undefined) record.json = json;
      if (multipart !== undefined) record.multipart = multipart;
      if (target?.deployment !== undefined) record.deployment = target.deployment;
      if (key !== undefined) record.presentedKey = key;
      recorded.push(record);
      const r = record;
      res.on('finish', () => { r.outcome = 'completed'; });
      res.on('close', () => { if (r.outcome === 'pending') r.outcome = 'aborted'; });
    }

    const current = queue.shift() ?? behavior;
    let signal = NEVER_ABORTED;
    if (current.type !== 'ok' || needsTiming(current)) {
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      signal = controller.signal;
    }
    const send = (reply: Reply, timing: OkBehavior): Promise<void> => {
      if (record !== undefined) record.status = reply.kind === 'sse' ? 200 : reply.status;
      return sendReply(res, reply, timing, signal, requestId);
    };

    switch (current.type) {
      case 'hang':
        // Hold the request open until the client (or close()) drops the connection.
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        return;
      case 'drop':
        if (await pause(current.delayMs ?? 0, signal)) req.socket.destroy();
        return;
      case 'html':
        return send(htmlPageReply(current.status ?? 403), { type: 'ok', delayMs: current.delayMs });
      case 'error':
        return send(behaviorErrorReply(current, key), { type: 'ok', delayMs: current.delayMs });
      case 'ok':
        break;
    }

    if (method === 'GET' && path === FAKE_IMAGE_PATH) {
      return send({ kind: 'bytes', status: 200, contentType: 'image/png', body: FAKE_PNG }, current);
    }
    const keys = config.apiKeys;
    if (keys !== undefined) {
      if (key === undefined) return send(azure ? wrongKeyReply('', 'masked', true) : missingKeyReply(), current);
      if (!keys.includes(key)) return send(wrongKeyReply(key, config.keyEcho, azure), current);
    }
    const handler = (target && stored.handlerFor(method, target.route, q < 0 ? '' : rawUrl.slice(q + 1))) ?? target?.handler;
    if (target === undefined || handler === undefined) return send(invalidUrlReply(method, path), current);
    if (badJson) return send(invalidRequest(BAD_JSON), current);
    if (boundary !== undefined && multipart === undefined) {
      return send(invalidRequest('Could not parse multipart form'), current);
    }

    const ctx = {
      route: target.route, param: target.param, json: isObject(json) ? json : {}, multipart,
      deployment: target.deployment, behavior: current, config, origin, billing: options.billing,
    };
    let reply: Reply;
    try {
      reply = handler(ctx);
    } catch {
      // A bug in the fake must look like an upstream 500, not crash the test run.
      reply = errorReply(500, { message: 'The fake upstream failed.', type: 'server_error', param: null, code: null });
    }
    return send(reply, current);
  }

  const server: Server = createServer({ noDelay: true, keepAliveTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  const realtime = attachFakeRealtime(server, () => config.apiKeys);

  return {
    url: `${origin}/v1`,
    origin,
    port,
    get requests() { return recorded; },
    get requestCount() { return requestCount; },
    lastRequest: () => recorded[recorded.length - 1],
    setBehavior: (next) => { behavior = next; },
    queueBehavior: (...next) => { queue.push(...next); },
    configure: (patch) => { config = { ...config, ...patch }; },
    realtime,
    reset: () => {
      realtime.reset();
      recorded.length = 0;
      queue.length = 0;
      behavior = initialBehavior;
      config = { ...initialConfig };
      stored.clear();
    },
    close: () => new Promise<void>((resolve, reject) => {
      // Hanging and slow requests, and open Realtime sessions, would keep server.close() waiting forever.
      realtime.reset();
      server.closeAllConnections();
      server.close((err) => (err === undefined ? resolve() : reject(err)));
    }),
  };
}

/** A URL whose port was free a moment ago and is now closed: connecting to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}
