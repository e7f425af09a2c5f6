import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { KeywardenConfig } from '../config/index.js';
import { KeywardenError } from '../errors/index.js';
import { describeError, type Logger } from '../log/logger.js';
import { compileScopes, createClientIpResolver, endpointGroupOf, isGroup, type CompiledScopes } from '../policy/index.js';
import { KeyVersionCache } from '../util/key-version-cache.js';
import type { PriceTable } from '../pricing/index.js';
import type { Store, VirtualKeyRecord } from '../store/index.js';
import { uuid7 } from '../util/uuid7.js';
import type { Vault } from '../vault/index.js';
import { Limiter, type AdmitInput, type Admission, type SettledUsage } from '../limits/limiter.js';
import type { CompiledProject } from '../limits/project-limits.js';
import type { LimitsBackend } from '../limits/backend.js';
import { MemoryLimitsBackend } from '../limits/memory-backend.js';
import { assertUsable, identify, type Identified } from './authenticate.js';
import { KeyHashMemo } from './key-hash-memo.js';
import { canaryTripped } from './canary.js';
import { usableParentOf } from './child-key.js';
import { reportCostOverrun } from './cost-overrun.js';
import { securityEventOf, type GatewayMonitor } from './security-events.js';
import { ClientLink, forward, type ForwardResult } from './forward.js';
import { frozenNumberField, prependJsonFields } from './body-patch.js';
import { forwardRequestHeaders } from './headers.js';
import { filterModelList, syntheticModelList } from './models-list.js';
import { normalizeRequestPath } from './normalize-path.js';
import { isMultipart, parseMultipartRequest, parseRequestBody, readBody, takeBufferedBody, waitForBody, type BodyPace, type ParsedRequest } from './request-body.js';
import { DEADLINE_ERROR_CODE, RequestDeadline } from './request-deadline.js';
import { reserializeRequestJson } from './reserialize.js';
import { ObjectOwnership, type OwnershipPlan } from './object-ownership.js';
import { checkBatchInput, type BatchInputOptions, type LineRules } from './batch-input.js';
import { readObjectFromUpstream } from './upstream-read.js';
import { realtimeModelsOf } from './realtime-models.js';
import { nestedModelsOf, NO_NESTED_MODELS } from './nested-models.js';
import { ProjectStage } from './project-stage.js';
import { sendError } from './send-error.js';
import { upstreamFailureFields } from './upstream-failure.js';
import { UpstreamRegistry, type UpstreamRuntime } from './upstream-registry.js';
import { failedBeforeSending, NO_FALLBACKS } from './fallback.js';
import { createOutboundPolicy, type OutboundPolicy } from '../policy/outbound-url.js';
import { isInferenceGroup, runsModelUnnamed } from './default-model.js';
import type { OutboundLookup } from '../policy/outbound-connect.js';
import { upstreamTarget } from './upstream-target.js';
import { ipNotAllowed } from './ip-not-allowed.js';
import { UsageRecorder } from './usage-recorder.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import type { UsageOutageBuffer } from '../store/outage/usage-outage-buffer.js';
import type { MeteredTokens } from './usage-parse.js';
import { mediaRequestOf } from './media-request.js';
import { priceRequest } from './request-cost.js';
import type { RequestState } from './request-state.js';
import { RealtimeSessions, refuseUpgrade, type RealtimeSessionPlan } from './realtime-session.js';
import { admitRealtimeSession, type RealtimeStages } from './realtime-admission.js';

export interface GatewayDeps {
  store: Store;
  vault: Vault;
  config: KeywardenConfig;
  prices: PriceTable;
  logger: Logger;
  /** Milliseconds since the epoch; tests control time through this. */
  now?: () => number;
  /** Monitoring hooks: cheap and synchronous on the request path, batched for usage. */
  monitor?: GatewayMonitor;
  /** Outbound URL policy (default: from config.outbound) and a resolver override for tests. */
  outbound?: OutboundPolicy;
  outboundLookup?: OutboundLookup;
  /** Where rates and budgets are counted, chosen once at start-up (default: this process, over the spend ledger). */
  limits?: LimitsBackend;
  /** Bounds usage held while the store cannot be written (memory, then a spill file); default: memory only. */
  usageOutage?: UsageOutageBuffer;
}

export interface Gateway {
  /** Handles one `/v1/*` request end to end. Never throws; never rejects. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Handles one `/v1/*` WebSocket upgrade (a Realtime session) end to end. Never throws. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Realtime sessions open now. */
  readonly realtimeSessions: () => number;
  /** Ends every open Realtime session (shutdown): the apps get close code 1001, going away. */
  endRealtimeSessions(): void;
  readonly upstreams: UpstreamRegistry;
  readonly usage: UsageRecorder;
  readonly limiter: Limiter;
  close(): Promise<void>;
}

/** Methods the provider never bills for (reads, lists, deletes): admitted on budgeted keys at $0. */
const COST_FREE_METHODS = new Set(['GET', 'HEAD', 'DELETE']);
export { REQUEST_ID_HEADER } from './request-id.js';
/** How often an open Realtime session's key is checked again (revoked, suspended, re-scoped). */
const REALTIME_RECHECK_MS = 1000;
/** Status recorded for a request whose client disconnected before the answer (nginx's convention). */
const CLIENT_CLOSED = 499;
/** Awaited to wait one microtask (see readRequestBody). Settled once, so each wait allocates no promise of its own. */
const PACKET_PARSED: Promise<void> = Promise.resolve();
const STREAM_USAGE_ENDPOINTS = new Set(['/v1/chat/completions', '/v1/completions']);
/** Added to a streamed request that does not ask for usage; frozen, so its bytes are serialized once (body-patch.ts). */
const INCLUDE_USAGE: Readonly<Record<string, unknown>> = Object.freeze({ stream_options: Object.freeze({ include_usage: true }) });


type JsonTransform = (body: unknown) => unknown;

/** What planUpstreamRequest decided, shared by every attempt (primary and fallbacks). */
interface UpstreamPlan {
  method: string;
  /** The normalized client path (`/v1/...`) and query string, mapped per upstream by upstreamTarget. */
  path: string;
  search: string;
  fallbackIds: readonly string[];
  headers: Record<string, string>;
  body: Buffer;
  json: Record<string, unknown> | null;
  /** Fields to add to the JSON body (spliced in without re-serializing), or null. */
  added: Readonly<Record<string, unknown>> | null;
  /** An existing field was changed: the body is re-serialized. */
  rewrite: boolean;
  dropInjectedUsageChunk: boolean;
  trackStreamText: boolean;
  transformJson: JsonTransform | undefined;
  onSseEvent: ((event: string) => void) | undefined;
}

function composeTransforms(first: JsonTransform | undefined, second: JsonTransform | undefined): JsonTransform | undefined {
  if (!first) return second;
  if (!second) return first;
  return (body) => second(first(body));
}

/** The URL's path part (no array allocated, unlike split). */
function withoutQuery(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export function createGateway(deps: GatewayDeps): Gateway {
  const now = deps.now ?? Date.now;
  const { config, logger } = deps;
  const outbound = deps.outbound ?? createOutboundPolicy(config.outbound);
  const upstreams = new UpstreamRegistry(deps.store.upstreams, deps.vault, {
    connections: config.upstream.connections,
    headersTimeoutMs: config.upstream.headersTimeoutMs,
    bodyTimeoutMs: config.upstream.bodyTimeoutMs,
    outbound,
    ...(deps.outboundLookup ? { lookup: deps.outboundLookup } : {}),
    onUnusable: (record, reason) =>
      logger.error('upstream record is unusable; requests routed to it answer 503 upstream_misconfigured', { upstream: record.id, name: record.name, reason }),
  });
  const usage = new UsageRecorder(deps.store.usage, {
    flushIntervalMs: config.usage.flushIntervalMs,
    onError: (err) => logger.error('usage flush failed; records kept for retry', describeError(err)),
    onFlushed: deps.monitor ? (records) => deps.monitor?.ingestUsage(records) : undefined,
    ...(deps.usageOutage ? { outage: deps.usageOutage } : {}),
  });
  const keyHashes = new KeyHashMemo(deps.vault.pepper);
  const scopes = new KeyVersionCache((key: VirtualKeyRecord) => compileScopes(key.scopes));
  const limiter = new Limiter(deps.limits ?? new MemoryLimitsBackend(deps.store.spend), deps.prices, { failOpen: config.limits.failOpen });
  const clientIpOf = createClientIpResolver(config.server.trustedProxies);
  const bodyPace: BodyPace = { timeoutMs: config.server.bodyTimeoutMs, minBytesPerSecond: config.server.bodyMinBytesPerSecond };
  const deadlineMs = config.server.requestDeadlineMs;
  const objects = new ObjectOwnership(deps.store.objects, logger);
  const projects = new ProjectStage(deps.store.projects);
  // The gateway's own reads from an upstream (a batch's input file, a ChatKit thread) wait as long as a request would.
  const upstreamReadTimeouts = { headersTimeoutMs: config.upstream.headersTimeoutMs, bodyTimeoutMs: config.upstream.bodyTimeoutMs };
  const batchInputOptions: BatchInputOptions = { ...upstreamReadTimeouts, maxLineBytes: config.server.maxBodyBytes };
  const readBackOptions = { ...upstreamReadTimeouts, maxBytes: config.upstream.maxBufferedResponseBytes };
  const responseLimits = {
    maxBufferedBytes: config.upstream.maxBufferedResponseBytes,
    maxSseEventBytes: config.upstream.maxSseEventBytes,
  };

  function recordUsage(
    state: RequestState,
    started: number,
    ts: number,
    outcome: { status: number; errorCode: string | null; tokens: MeteredTokens | null; costUsd?: number | null },
  ): void {
    if (!state.key) return;
    const tokens = outcome.tokens;
    let costUsd: number | null;
    let priceMissing: boolean;
    if (state.media === null) {
      // The usual request, priced by its tokens: no result object per request.
      costUsd = outcome.costUsd !== undefined ? outcome.costUsd : tokens ? deps.prices.costOf(state.model, tokens) : 0;
      priceMissing = tokens !== null && costUsd === null;
    } else {
      ({ costUsd, priceMissing } = priceRequest(deps.prices, state.model, outcome.status, tokens, state.media, outcome.costUsd));
    }
    if (priceMissing) logger.warn('no price for model; usage recorded with cost null', { model: state.model });
    usage.record({
      id: state.id,
      ts,
      keyId: state.key.id,
      upstreamId: state.upstreamId,
      endpoint: state.path,
      model: state.model,
      status: outcome.status,
      stream: state.stream,
      promptTokens: tokens?.promptTokens ?? 0,
      cachedTokens: tokens?.cachedTokens ?? 0,
      completionTokens: tokens?.completionTokens ?? 0,
      reasoningTokens: tokens?.reasoningTokens ?? 0,
      costUsd,
      priceMissing,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      clientIp: state.clientIp,
      errorCode: outcome.errorCode,
      upstreamKeyId: state.keySlot?.id ?? null,
    });
  }

  /**
   * settle + record: settles limits (if any) and records usage with the same token counts and cost. Without an
   * admission (a key without limits) it is synchronous and returns nothing, so the caller awaits nothing.
   */
  function finish(state: RequestState, started: number, ts: number, outcome: ForwardResult & { abandoned?: boolean }): Promise<void> | undefined {
    if (state.admission) {
      const admission = state.admission;
      state.admission = null;
      return settleAndRecord(state, admission, started, ts, outcome);
    }
    recordUsage(state, started, ts, { status: outcome.status, errorCode: outcome.errorCode, tokens: outcome.tokens });
    return undefined;
  }

  /** settle + record for a limited key: synchronous (no promise) when the limiter settles in process. */
  function settleAndRecord(state: RequestState, admission: Admission, started: number, ts: number, outcome: ForwardResult & { abandoned?: boolean }): Promise<void> | undefined {
    let settled: SettledUsage | Promise<SettledUsage>;
    try {
      // The forward result is a SettleOutcome as it is: no copy per request.
      settled = limiter.settleNow(admission, outcome, now());
    } catch (err) {
      settlementFailed(state, started, ts, outcome, err);
      return undefined;
    }
    if (settled instanceof Promise) {
      return settled.then(
        (usage) => recordSettled(state, admission, started, ts, outcome, usage),
        (err: unknown) => settlementFailed(state, started, ts, outcome, err),
      );
    }
    recordSettled(state, admission, started, ts, outcome, settled);
    return undefined;
  }

  function recordSettled(state: RequestState, admission: Admission, started: number, ts: number, outcome: ForwardResult, settled: SettledUsage): void {
    if (settled.overrunUsd !== undefined && state.key) reportCostOverrun(logger, deps.monitor, state.key.id, admission, settled.overrunUsd, now());
    recordUsage(state, started, ts, { status: outcome.status, errorCode: outcome.errorCode, tokens: settled.tokens, costUsd: settled.costUsd });
  }

  function settlementFailed(state: RequestState, started: number, ts: number, outcome: ForwardResult, err: unknown): void {
    logger.error('limits settlement failed; the ticket was settled at its full reservation', describeError(err));
    recordUsage(state, started, ts, { status: outcome.status, errorCode: outcome.errorCode, tokens: outcome.tokens });
  }

  // The request path, stage by stage, in the order a request flows:
  //   route → authenticate → authorize → read body → check model → (project, upstream, object ownership)
  //   → admit → plan the upstream request → forward → settle → record.
  // Each stage is a named function so its cost shows in a CPU profile; everything up to the upstream call is
  // synchronous except the key lookup, the body read and the few lookups only some keys need.

  /** route: the normalized /v1 path, or 404. */
  function routeOf(req: IncomingMessage, state: RequestState): ReturnType<typeof normalizeRequestPath> {
    const normalized = normalizeRequestPath(req.url ?? '/');
    state.path = normalized.path;
    if (!normalized.path.startsWith('/v1/')) throw new KeywardenError('KW_NOT_FOUND');
    return normalized;
  }

  /**
   * authenticate: the key record. Synchronous when the store answers at once (the embedded database, a replica's
   * remembered lookup); a canary is refused here, after its body is read and discarded.
   */
  /** The client's address: the socket's, or X-Forwarded-For's from a trusted proxy. */
  function clientIpOfRequest(req: IncomingMessage): string {
    return clientIpOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']);
  }

  function authenticate(req: IncomingMessage, state: RequestState, path: string, ts: number): VirtualKeyRecord | Promise<VirtualKeyRecord> {
    state.clientIp = clientIpOfRequest(req);
    const found = identify(req.headers, deps.store.keys, keyHashes);
    if (found instanceof Promise) return found.then((identified) => acceptKey(req, state, path, ts, identified));
    return acceptKey(req, state, path, ts, found);
  }

  function acceptKey(req: IncomingMessage, state: RequestState, path: string, ts: number, { record: key, hash }: Identified): VirtualKeyRecord | Promise<never> {
    state.key = key;
    if (key.canary === true) return refuseCanary(req, state, key, path, ts);
    assertUsable(key, hash, ts);
    return key;
  }

  async function refuseCanary(req: IncomingMessage, state: RequestState, key: VirtualKeyRecord, path: string, ts: number): Promise<never> {
    const refusal = canaryTripped(req, key, { clientIp: state.clientIp, path, ts }, deps.monitor);
    // Read (bounded) and discard the body, as a real quota refusal would, so the answer carries no tell-tale
    // `connection: close`; a slow or huge body then fails exactly as it would with a real key.
    await readBody(req, config.server.maxBodyBytes, bodyPace);
    throw refusal;
  }

  /** authorize: client IP and endpoint against the key's compiled scopes. Synchronous. */
  function authorize(state: RequestState, key: VirtualKeyRecord, path: string): { compiled: CompiledScopes; group: string } {
    const compiled = scopes.get(key);
    if (!compiled.ips.allows(state.clientIp)) throw ipNotAllowed(state.clientIp);
    const group = endpointGroupOf(path);
    if (!compiled.allowsEndpoint(group)) throw new KeywardenError('KW_ENDPOINT_NOT_ALLOWED');
    return { compiled, group };
  }

  /**
   * read body: bounded by the server's and the key's maximum, paced against slow clients. Called a microtask after
   * the request event at the earliest, when a body that came in the headers' packet is whole: that one is taken at
   * once, without a promise (the usual small request); a body still on its way is awaited.
   */
  function readRequestBody(req: IncomingMessage, compiled: CompiledScopes): Buffer | Promise<Buffer> {
    const maxBytes = Math.min(config.server.maxBodyBytes, compiled.maxBodyBytes ?? Infinity);
    return takeBufferedBody(req, maxBytes) ?? waitForBody(req, maxBytes, bodyPace);
  }

  /** The model and stream flag (JSON, or multipart for uploads); multipart is the only asynchronous parse. */
  function parseBody(req: IncomingMessage, body: Buffer, group: string): ParsedRequest | Promise<ParsedRequest> {
    const contentType = req.headers['content-type'];
    return isMultipart(contentType) ? parseMultipartRequest(body, contentType) : parseRequestBody(body, contentType, isInferenceGroup(group));
  }

  function checkModelScope(key: VirtualKeyRecord, compiled: CompiledScopes, model: string | null, modelRequired: boolean): void {
    if (model !== null && !compiled.models.allows(model)) {
      throw new KeywardenError('KW_MODEL_NOT_ALLOWED', {
        message: `This key may not use the model "${model}".`,
        param: 'model',
      });
    }
    if (model === null && key.scopes.models.length > 0 && modelRequired) {
      throw new KeywardenError('KW_MODEL_REQUIRED', { param: 'model' });
    }
  }

  /**
   * check a Realtime session's models: a client secret is minted for the session its body describes, and the app's
   * client then talks to the provider directly, so the models the session names (not at the top level) are checked
   * against the key's and the project's scopes here. A key limited to models must name them where they can be read.
   */
  function checkRealtimeSession(
    method: string,
    path: string,
    json: Record<string, unknown> | null,
    state: RequestState,
    key: VirtualKeyRecord,
    compiled: CompiledScopes,
    project: CompiledProject | null,
  ): void {
    const session = realtimeModelsOf(method, path, json);
    if (!session.startsSession) return;
    const missing = session.unreadable
      ? 'create the Realtime session with a JSON body (POST /v1/realtime/client_secrets), where its model can be read'
      : "name the Realtime session's model";
    checkModels(session.models, session.models.length === 0 ? missing : null, key, compiled, project);
    state.model ??= session.models[0] ?? null;
  }

  /**
   * check models beyond the top-level one (a session's, a tool's, an eval's): each against the key's and the
   * project's model scopes. `missing`: something would run on the provider's default model; a key limited to models
   * is told what to name instead.
   */
  function checkModels(models: readonly string[], missing: string | null, key: VirtualKeyRecord, compiled: CompiledScopes, project: CompiledProject | null): void {
    if (missing !== null && (key.scopes.models.length > 0 || (project?.models ?? null) !== null)) {
      throw new KeywardenError('KW_MODEL_REQUIRED', { message: `This key is limited to certain models: ${missing}.`, param: 'model' });
    }
    for (const model of models) checkModelScopes(key, compiled, project, model, true);
  }

  /** The key's model scope, then its project's: the check every model a request runs goes through. */
  function checkModelScopes(key: VirtualKeyRecord, compiled: CompiledScopes, project: CompiledProject | null, model: string | null, modelRequired: boolean): void {
    checkModelScope(key, compiled, model, modelRequired);
    if (project) projects.checkModel(project, model, modelRequired);
  }

  /**
   * check batch input: every line of a batch's input file is a request the upstream will run with the vaulted key,
   * so each is held to this key's endpoint groups, model scopes (key and project) and object ownership, as the
   * same request sent directly would be (batch-input.ts).
   */
  function checkBatchLines(key: VirtualKeyRecord, compiled: CompiledScopes, project: CompiledProject | null, upstreamId: string): LineRules {
    return async (line) => {
      if (!compiled.allowsEndpoint(line.group)) throw new KeywardenError('KW_ENDPOINT_NOT_ALLOWED');
      const model = typeof line.body.model === 'string' ? line.body.model : null;
      checkModelScopes(key, compiled, project, model, model === null && runsModelUnnamed('POST', line.group, line.path));
      await objects.requireReferences(objects.referencesOf(line.body, line.raw), key, upstreamId);
    };
  }

  /**
   * read back an object the request names, with the vaulted key (object ownership of objects made where the gateway
   * cannot see). The client's `OpenAI-Beta` header goes along: a beta API (ChatKit) answers only with it.
   */
  function readBack(upstream: UpstreamRuntime, path: string, req: IncomingMessage): Promise<Record<string, unknown> | null> {
    const beta = req.headers['openai-beta'];
    return readObjectFromUpstream(upstream, path, typeof beta === 'string' ? { 'openai-beta': beta } : {}, readBackOptions, 'The object the request names');
  }

  async function proxy(req: IncomingMessage, res: ServerResponse, state: RequestState, client: ClientLink): Promise<ForwardResult> {
    const ts = now();
    const normalized = routeOf(req, state);
    // Stages that may answer at once are not awaited then: each await costs a turn of the microtask queue.
    const authenticated = authenticate(req, state, normalized.path, ts);
    const key = authenticated instanceof Promise ? await authenticated : authenticated;
    // Ordinary keys skip this lookup; an ephemeral child reads its parent on every request (child-key.ts).
    const parent = key.parentId ? await usableParentOf(key, deps.store.keys, ts) : null;
    const { compiled, group } = authorize(state, key, normalized.path);

    // One microtask, as reading the body needs: Node's parser pushes the rest of the headers' packet before it runs.
    await PACKET_PARSED;
    const bodyOrPending = readRequestBody(req, compiled);
    const body = bodyOrPending instanceof Promise ? await bodyOrPending : bodyOrPending;
    const parsedOrPending = parseBody(req, body, group);
    const parsed = parsedOrPending instanceof Promise ? await parsedOrPending : parsedOrPending;
    // GET /v1/models/{id} names its model in the path.
    const pathModel = group === 'models' ? decodeURIComponent(normalized.path.split('/')[3] ?? '') || null : null;
    state.model = parsed.model ?? pathModel;
    state.stream = parsed.stream;
    state.media = mediaRequestOf(req.method ?? 'GET', group, normalized.path, parsed.json, parsed.form);
    // Only a request that names no model asks whether it runs one all the same (the usual one names its model).
    const modelRequired = state.model === null && runsModelUnnamed(req.method ?? 'GET', group, normalized.path);
    // The key's scope at once (synchronous); the project's once the project is loaded.
    checkModelScope(key, compiled, state.model, modelRequired);
    const project = key.projectId ? await projects.resolve(key) : null;
    if (project) projects.checkModel(project, state.model, modelRequired);
    if (isGroup(group, 'realtime')) checkRealtimeSession(req.method ?? 'GET', normalized.path, parsed.json, state, key, compiled, project);
    const nested = nestedModelsOf(group, parsed.json);
    if (nested !== NO_NESTED_MODELS) checkModels(nested.models, nested.defaulted === null ? null : `name the model of ${nested.defaulted}`, key, compiled, project);

    const resolved = upstreams.resolveNow(key.upstreamId);
    const upstream = resolved instanceof Promise ? await resolved : resolved;
    state.upstreamId = upstream.record.id;
    const objectCheck = objects.inspect(req.method ?? 'GET', normalized.path, parsed.json, body);
    const objectPlan: OwnershipPlan | null = objectCheck
      ? await objects.guard(objectCheck, { json: parsed.json, search: normalized.search, key, upstreamId: upstream.record.id, now: ts, readBack: (path) => readBack(upstream, path, req) })
      : null;
    if (objectCheck?.route?.type === 'create' && objectCheck.route.collection.kind === 'batch') {
      const input = parsed.json?.input_file_id;
      // Only a file id can be read back and checked; any other shape is refused rather than left to the upstream.
      if (typeof input !== 'string') throw new KeywardenError('KW_BAD_REQUEST', { message: "'input_file_id' must be a file id.", param: 'input_file_id' });
      await checkBatchInput(upstream, input, checkBatchLines(key, compiled, project, upstream.record.id), batchInputOptions);
    }

    const method = req.method ?? 'GET';
    const admitInput: AdmitInput = {
      key,
      path: normalized.path,
      model: state.model,
      json: parsed.json,
      bodyBytes: body.length,
      now: ts,
      costFree: COST_FREE_METHODS.has(method),
      project,
      parent,
      media: state.media,
    };
    const admitted = admit(admitInput);
    const admission = admitted instanceof Promise ? await admitted : admitted;
    // A budgeted reservation is written to disk with the rest of this turn's (reservation-journal.ts): the request
    // waits for it here, before anything is forwarded. On failure the reservation is undone and this throws.
    if (admission?.durable) await admission.durable;
    state.admission = admission;

    if (group === 'models' && pathModel === null && upstream.record.provider === 'azure') {
      const ids = Object.keys(upstream.record.deployments).filter((id) => compiled.models.allows(id) && (project?.models?.allows(id) ?? true));
      const payload = JSON.stringify(syntheticModelList(ids, Math.floor(ts / 1000)));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), [REQUEST_ID_HEADER]: state.id });
      res.end(payload);
      return { status: 200, tokens: null, incomplete: false, streamedText: '', errorCode: null };
    }

    const plan = planUpstreamRequest(req, state, normalized, parsed, body, key, compiled, group, pathModel, project, objectPlan, method);
    if (plan.fallbackIds.length === 0) return send(plan, res, client, state, upstream, false);
    return sendWithFallbacks(state, res, ts, client, upstream, plan.fallbackIds, (target, failOverOnStatus) => send(plan, res, client, state, target, failOverOnStatus));
  }

  /**
   * admit: a key without limits is decided synchronously (no promise, nothing allocated beyond the input), and so is
   * a limited key whose counters are in memory (admitNow returns a promise only when it must wait). The caller waits
   * for `durable` before forwarding, and only then owns the admission (a failed journal write undoes it).
   */
  function admit(input: AdmitInput): Admission | null | Promise<Admission | null> {
    if (!limiter.needsAdmission(input)) return null;
    // Usage can be neither written nor buffered (store outage, buffer full): fail closed for keys with limits.
    if (usage.full) deps.usageOutage?.refuse();
    return limiter.admitNow(input);
  }

  /**
   * plan the upstream request: body changes that do not depend on the upstream (made once, whichever upstream
   * answers), the forwarded headers, and the response transforms. Synchronous.
   */
  function planUpstreamRequest(
    req: IncomingMessage,
    state: RequestState,
    normalized: ReturnType<typeof normalizeRequestPath>,
    parsed: ParsedRequest,
    body: Buffer,
    key: VirtualKeyRecord,
    compiled: CompiledScopes,
    group: string,
    pathModel: string | null,
    project: CompiledProject | null,
    objectPlan: OwnershipPlan | null,
    method: string,
  ): UpstreamPlan {
    let dropInjectedUsageChunk = false;
    const json = parsed.json;
    // Fields the body lacks are spliced in (cheap); changing an existing field re-serializes the object.
    let added: Readonly<Record<string, unknown>> | null = null;
    let rewrite = false;
    if (json) {
      if (parsed.stream && STREAM_USAGE_ENDPOINTS.has(normalized.path)) {
        const options = json.stream_options;
        if (options === undefined) {
          added = INCLUDE_USAGE;
          dropInjectedUsageChunk = true;
        } else if (typeof options !== 'object' || options === null || (options as Record<string, unknown>).include_usage !== true) {
          json.stream_options = { ...(typeof options === 'object' && options !== null ? options : {}), include_usage: true };
          dropInjectedUsageChunk = true;
          rewrite = true;
        }
      }
      const inject = state.admission?.inject;
      if (inject) {
        if (json[inject.field] === undefined) added = added === null ? frozenNumberField(inject.field, inject.value) : { ...added, [inject.field]: inject.value };
        else {
          json[inject.field] = inject.value;
          rewrite = true;
        }
      }
    }
    const listFilter = group === 'models' && pathModel === null;
    return {
      method,
      path: normalized.path,
      // Stored objects live on one upstream, so requests that create or use them never fail over.
      fallbackIds: objectPlan === null ? key.fallbackUpstreamIds : NO_FALLBACKS,
      headers: forwardRequestHeaders(req.headers),
      search: objectPlan?.search ?? normalized.search,
      body,
      json,
      added,
      rewrite,
      dropInjectedUsageChunk,
      trackStreamText: state.admission?.trackStreamText ?? false,
      transformJson: composeTransforms(
        composeTransforms(
          listFilter && key.scopes.models.length > 0 ? (list) => filterModelList(list, compiled.models) : undefined,
          listFilter && project?.models ? (list) => filterModelList(list, project.models ?? compiled.models) : undefined,
        ),
        objectPlan?.transformJson,
      ),
      onSseEvent: objectPlan?.onSseEvent,
    };
  }

  /** forward: one attempt at one upstream, holding one of its keys until the request ends. */
  function send(plan: UpstreamPlan, res: ServerResponse, client: ClientLink, state: RequestState, target: UpstreamRuntime, failOverOnStatus: boolean): Promise<ForwardResult> {
    const slot = target.nextSlot();
    slot.inFlight++; // released in handle's finally (or by failedAttempt): rotate-key drains on it
    state.keySlot = slot;
    state.upstreamId = target.record.id;
    const mapped = upstreamTarget(target, plan.path, plan.search, state.model, slot.secret);
    const { body, json, added } = plan;
    let outBody: Buffer | string | null = body.length > 0 ? body : null;
    if (json) {
      // Azure addresses some endpoints by deployment in the body: that model differs per upstream, so it is
      // set on a copy, never on the parsed body a fallback attempt reuses.
      if (mapped.bodyModel !== null) outBody = reserializeRequestJson({ ...added, ...json, model: mapped.bodyModel });
      else if (plan.rewrite) outBody = reserializeRequestJson({ ...added, ...json });
      else if (added !== null) outBody = prependJsonFields(body, added);
    }
    return forward(
      {
        upstream: target,
        method: plan.method,
        path: mapped.path,
        // Each attempt names its own provider's auth header, so with fallbacks the shared headers are copied.
        headers: plan.fallbackIds.length > 0 ? { ...plan.headers, ...mapped.authHeaders } : Object.assign(plan.headers, mapped.authHeaders),
        body: outBody,
        requestId: state.id,
        client,
        connectRetries: config.upstream.connectRetries,
        limits: responseLimits,
        dropInjectedUsageChunk: plan.dropInjectedUsageChunk,
        trackStreamText: plan.trackStreamText,
        transformJson: plan.transformJson,
        onSseEvent: plan.onSseEvent,
        mediaAnswer: state.media?.answer,
        failOverOnStatus,
      },
      res,
    );
  }

  /**
   * Tries the primary, then each fallback in order, while an attempt fails before anything ran upstream or reached
   * the client (see fallback.ts). Each failed attempt gets its own usage record (its upstream, status, error code,
   * cost 0: nothing was performed); the request's admission is settled once, by the attempt that answered.
   */
  async function sendWithFallbacks(
    state: RequestState,
    res: ServerResponse,
    ts: number,
    client: ClientLink,
    primary: UpstreamRuntime,
    fallbackIds: readonly string[],
    send: (target: UpstreamRuntime, failOverOnStatus: boolean) => Promise<ForwardResult>,
  ): Promise<ForwardResult> {
    for (let index = 0; ; index++) {
      const last = index === fallbackIds.length;
      const attemptStarted = performance.now();
      try {
        const fallbackId = index === 0 ? null : (fallbackIds[index - 1] as string);
        if (fallbackId !== null) state.upstreamId = fallbackId;
        const target = fallbackId === null ? primary : await upstreams.resolve(fallbackId);
        const result = await send(target, !last);
        if (result.failedOver !== true) return result;
        logger.warn('upstream answered an error; trying the next fallback', { upstreamId: state.upstreamId, status: result.status });
        failedAttempt(state, ts, attemptStarted, result.status, 'upstream_failed_over');
      } catch (err) {
        if (last || client.aborted || !failedBeforeSending(err)) throw err;
        const error = err as KeywardenError;
        logger.warn('upstream attempt failed before sending; trying the next fallback', { upstreamId: state.upstreamId, code: error.code, ...upstreamFailureFields(err) });
        failedAttempt(state, ts, attemptStarted, error.status, error.apiCode);
      }
    }
  }

  /**
   * Books one failed attempt: its key slot is released and it gets a usage record of its own, at cost 0, with the
   * request's arrival time and the request's id so far; the request moves on under a fresh id (ids are time-ordered,
   * so a request's attempts list in the order they were made). Nothing was written to the client yet, and the
   * x-keywarden-request-id header is written with the answer, so it names the record of the attempt that answered.
   */
  function failedAttempt(state: RequestState, ts: number, attemptStarted: number, status: number, errorCode: string): void {
    if (state.keySlot) {
      state.keySlot.inFlight--;
      state.keySlot = null;
    }
    recordUsage(state, attemptStarted, ts, { status, errorCode, tokens: null, costUsd: 0 });
    state.id = uuid7(now());
  }

  /** One line per request when log.requests is on; off by default to keep the hot path lean. */
  function logRequest(state: RequestState, started: number, status: number, errorCode: string | null): void {
    if (!config.log.requests) return;
    logger.info('request', {
      id: state.id,
      keyId: state.key?.id,
      path: state.path,
      model: state.model,
      status,
      errorCode,
      clientIp: state.clientIp,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
  }

  function newRequestState(req: IncomingMessage, ts: number): RequestState {
    return {
      // Time-ordered, so usage inserts append to the id index (see uuid7).
      id: uuid7(ts),
      key: null,
      // Without the query string: clients sometimes put credentials there, and this value is logged.
      path: withoutQuery(req.url ?? ''),
      model: null,
      stream: false,
      upstreamId: null,
      clientIp: '',
      admission: null,
      keySlot: null,
      media: null,
    };
  }

  const realtime = new RealtimeSessions({
    logger,
    outbound,
    ...(deps.outboundLookup ? { lookup: deps.outboundLookup } : {}),
    maxFrameBytes: config.server.maxBodyBytes,
    handshakeTimeoutMs: config.upstream.headersTimeoutMs,
    recheckMs: REALTIME_RECHECK_MS,
  });
  const realtimeStages: RealtimeStages = {
    now,
    keys: deps.store.keys,
    keyHashes,
    monitor: deps.monitor,
    limiter,
    projects,
    upstreams,
    clientIpOf: clientIpOfRequest,
    authorize,
    admit,
    checkModels,
    record: recordUsage,
    finish(state, started, ts, status, errorCode) {
      void finish(state, started, ts, { status, errorCode, tokens: null, incomplete: false, streamedText: '' });
      logRequest(state, started, status, errorCode);
    },
  };

  /** A WebSocket upgrade under /v1: a Realtime session (realtime-admission.ts, realtime-session.ts), or refused. */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    const ts = now();
    const state = newRequestState(req, ts);
    const admitted = Promise.resolve().then((): Promise<RealtimeSessionPlan> => {
      const normalized = routeOf(req, state);
      return admitRealtimeSession(req, state, normalized.path, normalized.search, realtimeStages);
    });
    admitted.then(
      (plan) => realtime.start(req, socket, head, plan),
      (err: unknown) => {
        const error = refuseUpgrade(socket, err, state.id);
        const event = deps.monitor ? securityEventOf(error.code, ts, state) : null;
        if (event) deps.monitor?.securityEvent(event);
        if (error.status >= 500) logger.error('realtime session refused', { code: error.code, path: state.path, upstreamId: state.upstreamId, ...describeError(err) });
        realtimeStages.finish(state, started, ts, error.status, error.apiCode);
      },
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const ts = now();
    const state = newRequestState(req, ts);
    const client = new ClientLink();
    const onClose = (): void => {
      if (!res.writableFinished) client.abort();
    };
    res.on('close', onClose);
    const deadline = deadlineMs > 0 ? new RequestDeadline(deadlineMs, client) : null;
    try {
      const result = await proxy(req, res, state, client);
      if (deadline?.hit && result.incomplete) result.errorCode = DEADLINE_ERROR_CODE;
      if (result.status === 401 || result.status === 403) {
        // The client's virtual key was valid, so the provider refused the vaulted key: an operator problem.
        logger.warn('upstream refused the vaulted key', { upstreamId: state.upstreamId, status: result.status });
      }
      const settling = finish(state, started, ts, result);
      if (settling) await settling;
      logRequest(state, started, result.status, result.errorCode);
    } catch (err) {
      // Answers written here (errors) carry the id too; forward writes it with the upstream's headers.
      if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, state.id);
      if (deadline?.hit) {
        // Cut at the deadline before an answer started: the client gets a 504 rather than a dropped connection.
        const error = sendError(res, new KeywardenError('KW_REQUEST_DEADLINE'));
        await finish(state, started, ts, {
          status: error.status,
          errorCode: error.apiCode,
          tokens: null,
          incomplete: true,
          streamedText: '',
          abandoned: state.upstreamId !== null,
        });
        logRequest(state, started, error.status, error.apiCode);
        return;
      }
      if (client.aborted) {
        // The client left before its answer: not a server error. Recorded as 499, as nginx does.
        res.destroy();
        await finish(state, started, ts, {
          status: CLIENT_CLOSED,
          errorCode: 'client_disconnected',
          tokens: null,
          incomplete: true,
          streamedText: '',
          abandoned: state.upstreamId !== null,
        });
        logRequest(state, started, CLIENT_CLOSED, 'client_disconnected');
        return;
      }
      const error = sendError(res, err);
      const event = deps.monitor ? securityEventOf(error.code, ts, state) : null;
      if (event) deps.monitor?.securityEvent(event);
      if (error.status >= 500) {
        logger.error('request failed', { code: error.code, path: state.path, upstreamId: state.upstreamId, ...describeError(err), ...upstreamFailureFields(err) });
      }
      await finish(state, started, ts, { status: error.status, errorCode: error.apiCode, tokens: null, incomplete: false, streamedText: '' });
      logRequest(state, started, error.status, error.apiCode);
    } finally {
      if (state.keySlot) state.keySlot.inFlight--;
      deadline?.clear();
      res.off('close', onClose);
    }
  }

  return {
    handle,
    upgrade,
    realtimeSessions: () => realtime.size,
    endRealtimeSessions: () => realtime.closeAll(),
    upstreams,
    usage,
    limiter,
    async close() {
      realtime.closeAll();
      await objects.flush();
      await usage.close();
      await upstreams.close();
    },
  };
}
