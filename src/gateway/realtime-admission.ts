import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KeywardenError } from '../errors/index.js';
import type { Admission, AdmitInput, Limiter } from '../limits/limiter.js';
import type { CompiledProject } from '../limits/project-limits.js';
import type { CompiledScopes } from '../policy/index.js';
import type { KeyRepository, VirtualKeyRecord } from '../store/index.js';
import { uuid7 } from '../util/uuid7.js';
import { assertUsable, identify } from './authenticate.js';
import { canaryTripped } from './canary.js';
import { usableParentOf } from './child-key.js';
import type { KeyHashMemo } from './key-hash-memo.js';
import type { ProjectStage } from './project-stage.js';
import { isWebSocketHandshake, type RealtimeSessionPlan } from './realtime-session.js';
import type { RequestState } from './request-state.js';
import { securityEventOf, type GatewayMonitor } from './security-events.js';
import type { UpstreamRegistry } from './upstream-registry.js';
import { upstreamTarget } from './upstream-target.js';
import type { MeteredTokens } from './usage-parse.js';

/**
 * Admits a Realtime session over WebSocket through the same checks as an HTTP request: the key (and a child key's
 * parent), its client IPs and endpoint groups, the session's model (the `model` query parameter) against the key's
 * and the project's model scopes, and the key's rates and concurrency (a session holds one concurrency slot while it
 * lasts). A key that counts tokens or spend is refused: a session's responses are started by the provider as audio
 * streams in, so no request is ever there to bound. Returns the plan realtime-session.ts runs the session by.
 */
export interface RealtimeStages {
  now(): number;
  keys: KeyRepository;
  keyHashes: KeyHashMemo;
  monitor: GatewayMonitor | undefined;
  limiter: Limiter;
  projects: ProjectStage;
  upstreams: UpstreamRegistry;
  clientIpOf(req: IncomingMessage): string;
  /** Client IP and endpoint group against the key's scopes (create-gateway's authorize stage). */
  authorize(state: RequestState, key: VirtualKeyRecord, path: string): { compiled: CompiledScopes; group: string };
  /** The key's limits (create-gateway's admit stage); the caller waits for `durable`. */
  admit(input: AdmitInput): Admission | null | Promise<Admission | null>;
  /** The key's and the project's model scopes for each model; `missing` names what to name when none is. */
  checkModels(models: readonly string[], missing: string | null, key: VirtualKeyRecord, compiled: CompiledScopes, project: CompiledProject | null): void;
  /** One usage record (create-gateway's recordUsage). */
  record(state: RequestState, started: number, ts: number, outcome: { status: number; errorCode: string | null; tokens: MeteredTokens | null }): void;
  /** Settles the state's admission (if any) and records the request's end. */
  finish(state: RequestState, started: number, ts: number, status: number, errorCode: string | null): void;
}

/** The one path a Realtime WebSocket session opens on (any letter case, as for the HTTP routes). */
export const REALTIME_SOCKET_PATH = /^\/v1\/realtime$/i;

/**
 * Browsers cannot set headers on a WebSocket, so OpenAI's browser clients send the key as a subprotocol,
 * `openai-insecure-api-key.<key>`, beside `realtime`. A virtual key is accepted there too (an ephemeral child key is
 * what belongs in a browser); a header, when present, decides.
 */
const KEY_PROTOCOL = 'openai-insecure-api-key.';

function credentialHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const { headers } = req;
  const offered = headers['sec-websocket-protocol'];
  if (headers.authorization !== undefined || headers['api-key'] !== undefined || typeof offered !== 'string') return headers;
  for (const protocol of offered.split(',')) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(KEY_PROTOCOL)) return { authorization: `Bearer ${trimmed.slice(KEY_PROTOCOL.length)}` };
  }
  return headers;
}

/** The model a Realtime WebSocket names: `?model=` (OpenAI), or `?deployment=` (Azure's clients). */
function realtimeModelOf(search: string): string | null {
  const params = new URLSearchParams(search);
  const models = params.getAll('model');
  // Two model parameters: the provider may read either one, so neither can be checked alone.
  if (models.length > 1) throw new KeywardenError('KW_BAD_REQUEST', { message: 'The model parameter is given more than once.', param: 'model' });
  return models[0] ?? params.get('deployment') ?? null;
}

export async function admitRealtimeSession(req: IncomingMessage, state: RequestState, path: string, search: string, stages: RealtimeStages): Promise<RealtimeSessionPlan> {
  const ts = stages.now();
  const started = performance.now();
  if (!REALTIME_SOCKET_PATH.test(path)) throw new KeywardenError('KW_NOT_FOUND', { message: 'WebSocket sessions are served at /v1/realtime only.' });
  if (!isWebSocketHandshake(req)) {
    throw new KeywardenError('KW_BAD_REQUEST', { message: 'A WebSocket handshake was expected: GET with Upgrade: websocket and Sec-WebSocket-Version: 13.' });
  }
  state.stream = true;
  state.clientIp = stages.clientIpOf(req);
  const found = identify(credentialHeaders(req), stages.keys, stages.keyHashes);
  const { record: key, hash } = found instanceof Promise ? await found : found;
  state.key = key;
  if (key.canary === true) throw canaryTripped(req, key, { clientIp: state.clientIp, path, ts }, stages.monitor);
  assertUsable(key, hash, ts);
  const parent = key.parentId ? await usableParentOf(key, stages.keys, ts) : null;
  const { compiled } = stages.authorize(state, key, path);
  const model = realtimeModelOf(search);
  state.model = model;
  let project = key.projectId ? await stages.projects.resolve(key) : null;
  const missing = 'name the Realtime model in the URL (wss://…/v1/realtime?model=…)';
  stages.checkModels(model === null ? [] : [model], model === null ? missing : null, key, compiled, project);
  if (stages.limiter.countsTokensOrSpend(key, project, parent)) {
    throw new KeywardenError('KW_PRICE_UNKNOWN', {
      message:
        'This key limits tokens or spend, and a Realtime session cannot be bounded before it runs: the provider starts ' +
        'responses on its own as audio streams in. Use a key without tpm, budgets or max_output_tokens for Realtime.',
      param: 'model',
    });
  }

  const resolved = stages.upstreams.resolveNow(key.upstreamId);
  const upstream = resolved instanceof Promise ? await resolved : resolved;
  state.upstreamId = upstream.record.id;
  const admitInput: AdmitInput = { key, path, model, json: null, bodyBytes: 0, now: ts, costFree: true, project, parent };
  const admission = await stages.admit(admitInput);
  if (admission?.durable) await admission.durable;
  state.admission = admission;
  const slot = upstream.nextSlot();
  slot.inFlight++;
  state.keySlot = slot;
  const mapped = upstreamTarget(upstream, path, search, model, slot.secret);

  let current = { key, compiled };
  let mark = performance.now();
  const checkModels = (models: readonly string[]): void => {
    try {
      stages.checkModels(models, null, current.key, current.compiled, project);
    } catch (err) {
      const event = stages.monitor && err instanceof KeywardenError ? securityEventOf(err.code, stages.now(), { ...state, model: models[0] ?? state.model }) : null;
      if (event) stages.monitor?.securityEvent(event);
      throw err;
    }
  };
  return {
    requestId: state.id,
    upstream,
    url: `${upstream.origin.replace(/^http/, 'ws')}${mapped.path}`,
    authHeaders: mapped.authHeaders,
    // Read on every event: a key limited to models after the session opened has its next session.update checked.
    get modelsLimited() {
      return current.key.scopes.models.length > 0 || (project?.models ?? null) !== null;
    },
    checkModels,
    // The key as it is now: revoked, expired, suspended, moved to other scopes or another project's models.
    async recheck() {
      const at = stages.now();
      const now = stages.keys.findByHashNow?.(hash);
      const latest = now === undefined ? await stages.keys.findByHash(hash) : now;
      if (!latest) throw new KeywardenError('KW_KEY_REVOKED');
      assertUsable(latest, hash, at);
      if (latest.parentId) await usableParentOf(latest, stages.keys, at);
      const rescoped = stages.authorize(state, latest, path).compiled;
      project = latest.projectId ? await stages.projects.resolve(latest) : null;
      current = { key: latest, compiled: rescoped };
      checkModels(model === null ? [] : [model]);
    },
    responseDone(tokens) {
      const at = performance.now();
      // One record per response; its latency is the time since the previous response (or the session's start).
      stages.record({ ...state, id: uuid7(stages.now()), admission: null }, mark, stages.now(), { status: 200, errorCode: null, tokens });
      mark = at;
    },
    ended(status, errorCode) {
      if (state.keySlot) {
        state.keySlot.inFlight--;
        state.keySlot = null;
      }
      stages.finish(state, started, ts, status, errorCode);
    },
  };
}
