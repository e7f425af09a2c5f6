// Public types of the fake OpenAI upstream, kept apart so handlers and tests share one vocabulary.
import type { IncomingHttpHeaders } from 'node:http';
import type { BillingLedger } from './fake-openai-billing.js';
import type { MultipartBody } from './fake-openai-multipart.js';

/**
 * What the fake does with a request. Anything but `ok` pre-empts auth and routing, because in real life a
 * WAF page, an overloaded front end or a dropped connection happens before OpenAI looks at the key.
 */
export type FakeBehavior =
  | {
      type: 'ok';
      /** Wait this long before sending the status line and headers. */
      delayMs?: number;
      /** For streams: pause between SSE frames (the first frame is sent right after the headers). */
      chunkDelayMs?: number;
      /** For streams: destroy the socket after writing this many SSE frames (so no usage chunk, no [DONE]). */
      cutAfterChunks?: number;
      /** Never send the usage chunk / Responses usage, even when the client asked for it. */
      omitUsage?: boolean;
    }
  | {
      type: 'error';
      status: number;
      /** Defaults come from OpenAI's real body for `status`. `{key}` and `{masked_key}` are replaced by
       *  the key the request presented, so a body can leak the upstream key on purpose. */
      message?: string;
      errorType?: string;
      code?: string | null;
      param?: string | null;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  /** An HTML page, as a CDN/WAF in front of the API would send (default 403). */
  | { type: 'html'; status?: number; delayMs?: number }
  /** Read the request, then never answer until the client gives up (for timeout tests). */
  | { type: 'hang' }
  /** Destroy the connection without any response ("socket hang up" / ECONNRESET). */
  | { type: 'drop'; delayMs?: number };

export type OkBehavior = Extract<FakeBehavior, { type: 'ok' }>;

/** The reply text: a string (split into word deltas), explicit deltas, or computed from the request. */
export type ReplySpec = string | readonly string[] | ((request: ReplyInput) => string | readonly string[]);

export interface ReplyInput {
  route: string;
  model: string;
  body: Record<string, unknown>;
}

export interface UsageConfig {
  /** Reported as prompt_tokens_details.cached_tokens / input_tokens_details.cached_tokens (capped). */
  cachedTokens?: number;
  /** Reasoning tokens, added to completion/output tokens. Default: 64 for o-series and gpt-5 models, else 0. */
  reasoningTokens?: number;
}

export interface FakeOpenAIOptions {
  /** When set, requests must present one of these keys (Bearer, or `api-key` on Azure paths). */
  apiKeys?: readonly string[];
  /** How 401 messages echo a wrong key: OpenAI's masked form (default) or the full key, to test scrubbing. */
  keyEcho?: 'masked' | 'full';
  /** Record every request (default true). Turn off for benchmarks; `requestCount` still counts. */
  record?: boolean;
  /** Port to listen on (default 0 = any free port). The fake always binds 127.0.0.1. */
  port?: number;
  /** Default behavior for every request (default `{ type: 'ok' }`). */
  behavior?: FakeBehavior;
  reply?: ReplySpec;
  usage?: UsageConfig;
  /** Bill every request into this ledger at list prices, and report usage that matches the bill. */
  billing?: BillingLedger;
  /** Answer with dated snapshot names (gpt-4o-mini → gpt-4o-mini-2024-07-18) like OpenAI does (default true). */
  snapshotModels?: boolean;
}

/** Options that can change between tests without restarting the fake. */
export type FakeOpenAIConfig = Required<Pick<FakeOpenAIOptions, 'keyEcho' | 'record' | 'snapshotModels'>> &
  Pick<FakeOpenAIOptions, 'apiKeys' | 'reply' | 'usage'>;

export interface RecordedRequest {
  method: string;
  /** The raw request path, without the query string. */
  path: string;
  /** The OpenAI route relative to the API root, e.g. `/chat/completions`, for both `/v1` and Azure paths. */
  route: string;
  query: URLSearchParams;
  /** Lower-cased, as Node merges them. */
  headers: IncomingHttpHeaders;
  /** Exactly as received, in order, to check casing, duplicates and hop-by-hop headers. */
  rawHeaders: string[];
  body: Buffer;
  /** Parsed when the body was JSON. */
  json?: unknown;
  /** Parsed when the body was multipart/form-data (file contents included). */
  multipart?: MultipartBody;
  /** Set for Azure-style `/openai/deployments/{deployment}/…` paths. */
  deployment?: string;
  /** The key the request presented (Bearer token, or `api-key` on Azure paths). */
  presentedKey?: string;
  /** `aborted`: the connection closed before the response finished (client abort, or a deliberate cut). */
  outcome: 'pending' | 'completed' | 'aborted';
  /** The status the fake answered with, once headers were sent. */
  status?: number;
  receivedAt: number;
}

/** What a route handler produces; the sender applies delays, pacing and cuts from the behavior. */
export type Reply =
  | { kind: 'json'; status: number; body: string; headers?: readonly string[] }
  | { kind: 'sse'; frames: readonly string[] }
  | { kind: 'bytes'; status: number; contentType: string; body: Buffer | string };

export interface HandlerContext {
  route: string;
  /** Path parameter, e.g. the model id of `GET /models/{id}`. */
  param?: string;
  json: Record<string, unknown>;
  multipart?: MultipartBody;
  deployment?: string;
  behavior: OkBehavior;
  config: FakeOpenAIConfig;
  /** `http://127.0.0.1:PORT`, for URLs the fake hands out (image urls). */
  origin: string;
  billing?: BillingLedger | undefined;
}

export type Handler = (ctx: HandlerContext) => Reply;
