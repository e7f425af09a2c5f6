import { z } from 'zod';
import { monitorConfigSchema } from '../monitor/config.js';
import { scanConfigSchema } from '../scanner/config/scan-config.js';
import { outboundConfigSchema, refineSinkTargets } from '../policy/outbound-config.js';
import { serverTimeoutFields } from './server-timeouts.js';
import { providersConfigSchema } from '../providers/config.js';
import { limitsConfigSchema } from '../limits/limits-config.js';
import { storeConfigSchema } from '../store/store-config.js';
import { uiServeFields } from '../console-serve/ui-config.js';
import { uiSessionConfigSchema } from '../console-auth/session-config.js';

const port = z.number().int().min(0).max(65_535);

const price = z
  .object({
    input: z.number().nonnegative().describe('USD per 1M input tokens'),
    cachedInput: z.number().nonnegative().optional().describe('USD per 1M cached input tokens'),
    output: z.number().nonnegative().describe('USD per 1M output tokens'),
    audioInput: z.number().nonnegative().optional().describe('USD per 1M audio input tokens, where priced apart from text'),
    audioOutput: z.number().nonnegative().optional().describe('USD per 1M audio output tokens, where priced apart from text'),
    imageInput: z.number().nonnegative().optional().describe('USD per 1M image input tokens, where priced apart from text'),
    cachedAudioInput: z.number().nonnegative().optional().describe('USD per 1M cached audio input tokens, where priced apart from audio input'),
  })
  .strict();

/** The one configuration schema. Unknown keys are rejected so typos surface instead of being ignored. */
export const configSchema = z
  .object({
    /** Where editors find this schema (written by `keywarden init`); ignored at run time. */
    $schema: z.string().optional(),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8787),
        /** Peers whose X-Forwarded-For is trusted (IPs or CIDRs). Everyone else's XFF is ignored. */
        trustedProxies: z.array(z.string().min(1)).default([]),
        /** Default cap on request bodies; a key's own scope can only lower it. */
        maxBodyBytes: z.number().int().positive().default(26_214_400),
        /** Server timeouts and the admin body cap (see server-timeouts.ts for why each default). */
        ...serverTimeoutFields,
      })
      .strict()
      .prefault({}),
    dataDir: z.string().min(1).default('.keywarden'),
    /** GET /metrics needs `Authorization: Bearer` with an admin token or this scrape-only token. */
    metrics: z.object({ token: z.string().min(32).optional() }).strict().prefault({}),
    upstream: z
      .object({
        /** Time to wait for upstream response headers. */
        headersTimeoutMs: z.number().int().positive().default(600_000),
        /** Maximum idle time between upstream body chunks. */
        bodyTimeoutMs: z.number().int().positive().default(600_000),
        /** Retries after a connect error only; never once bytes were sent. */
        connectRetries: z.number().int().min(0).max(5).default(2),
        connections: z.number().int().positive().default(128),
        /** Largest upstream body buffered to be parsed (usage, scrubbing, list filtering); larger JSON is streamed. */
        maxBufferedResponseBytes: z.number().int().positive().default(33_554_432),
        /** Largest single SSE event held while waiting for its end; a larger one cuts the stream. */
        maxSseEventBytes: z.number().int().positive().default(4_194_304),
      })
      .strict()
      .prefault({}),
    usage: z
      .object({
        /** Batch window for usage writes. Keeps kill -9 loss well under the 100 ms promise. */
        flushIntervalMs: z.number().int().positive().max(100).default(20),
      })
      .strict()
      .prefault({}),
    /** Where rate limits and budgets are counted: this process (default) or a shared Redis (see limits/limits-config.ts). */
    limits: limitsConfigSchema.prefault({}),
    /** Where keys, usage, spend and the audit log live: SQLite in dataDir (default) or PostgreSQL (store/store-config.ts). */
    store: storeConfigSchema.prefault({}),
    pricing: z
      .object({
        /** Per-model price overrides, keyed by exact model name. */
        overrides: z.record(z.string(), price).default({}),
      })
      .strict()
      .prefault({}),
    /** Private and internal hosts outbound requests may reach (see policy/outbound-config.ts). */
    outbound: outboundConfigSchema.prefault({}),
    /** Usage analytics, anomaly detectors, alert sinks (see monitor/config.ts). */
    monitor: monitorConfigSchema.prefault({}),
    /** Provider admin APIs: reconciliation, leak revocation, GitHub partner receiver (see providers/config.ts). */
    providers: providersConfigSchema.prefault({}),
    /** The web console served at `/` (console-serve/ui-config.ts): on/off, its public URL (links, WebAuthn origin), session lifetimes. */
    ui: z
      .object({
        ...uiServeFields,
        session: uiSessionConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    /** Leak scanner settings, so one keywarden.config file can serve `serve` and `scan`. */
    scan: scanConfigSchema.optional(),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
        /** One JSON line per proxied request. Off by default: usage records already hold this. */
        requests: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine(refineSinkTargets);

export type KeywardenConfig = z.output<typeof configSchema>;
export type KeywardenConfigInput = z.input<typeof configSchema>;
