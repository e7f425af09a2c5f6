import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { parseConfig, type KeywardenConfigInput } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import type { ManualClock } from '../../src/monitor/clock.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from './fake-openai.js';
import type { OutboundLookup } from '../../src/policy/outbound-connect.js';
import { testStoreConfig } from './test-store.js';

export interface Harness {
  fake: FakeOpenAI;
  server: RunningServer;
  dataDir: string;
  upstreamKey: string;
  adminToken: string;
  /** Everything the gateway logged, to grep for secrets. */
  logs: () => string;
  /** The gateway's clock runs with real time plus an offset; advance it to test expiry without sleeping. */
  clock: { advance(ms: number): void; now(): number };
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  createKey(body?: Record<string, unknown>): Promise<{ id: string; key: string }>;
  client(apiKey: string, options?: Partial<ConstructorParameters<typeof OpenAI>[0]>): OpenAI;
  /** Stops the gateway and starts a new one on the same data directory (a clean restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  fake?: FakeOpenAIOptions;
  config?: KeywardenConfigInput;
  /** Register the fake as an upstream (default true). */
  withUpstream?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Drive the gateway's and the monitor's time by hand (monitoring tests); nothing then moves on its own. */
  manualClock?: ManualClock;
  /** Resolver for the gateway's outbound connections (DNS rebinding tests). */
  outboundLookup?: OutboundLookup;
}

/** Fake OpenAI + a real keywarden server (real SQLite file, real vault) in this process, on 127.0.0.1:0. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const upstreamKey = `sk-proj-${randomBytes(36).toString('base64url')}`;
  const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
  const fake = await startFakeOpenAI({ apiKeys: [upstreamKey], ...options.fake });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kw-e2e-'));
  // KW_TEST_STORE=postgres runs any harness-based suite on a throw-away PostgreSQL database instead of SQLite.
  const store = await testStoreConfig(options.config);
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (chunk: Buffer) => {
    logText += chunk.toString();
  });
  let offset = 0;
  const manual = options.manualClock;
  const clock = manual
    ? { advance: (ms: number) => void manual.set(manual.now() + ms), now: () => manual.now() }
    : { advance: (ms: number) => void (offset += ms), now: () => Date.now() + offset };
  const config = parseConfig({
    // The fake upstream and test receivers listen on 127.0.0.1, which the outbound policy refuses unless listed.
    outbound: { allow: ['127.0.0.1'] },
    ...options.config,
    ...store.config,
    dataDir,
    server: { host: '127.0.0.1', port: 0, ...options.config?.server },
    log: { level: 'debug', requests: true, ...options.config?.log },
  });
  const boot = (): Promise<RunningServer> =>
    startServer({
      config,
      env: { KEYWARDEN_ADMIN_TOKEN: adminToken, ...options.env },
      logger: createLogger('debug', logStream),
      now: clock.now,
      ...(manual ? { monitorClock: manual } : {}),
      ...(options.outboundLookup ? { outboundLookup: options.outboundLookup } : {}),
    });
  let server = await boot();

  const admin = async <T,>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${harness.server.url}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  const harness: Harness = {
    fake,
    server,
    dataDir,
    upstreamKey,
    adminToken,
    clock,
    logs: () => logText,
    admin,
    async createKey(body = {}) {
      const res = await admin<{ id: string; key: string }>('POST', '/keys', { name: 'test', ...body });
      if (res.status !== 201) throw new Error(`could not create key: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    client(apiKey, clientOptions = {}) {
      return new OpenAI({ apiKey, baseURL: `${harness.server.url}/v1`, maxRetries: 0, timeout: 10_000, ...clientOptions });
    },
    async restart() {
      await harness.server.close();
      server = await boot();
      harness.server = server;
    },
    async close() {
      await harness.server.close();
      await fake.close();
      await store.release();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  if (options.withUpstream !== false) {
    const added = await admin('POST', '/upstreams', { name: 'fake', provider: 'openai-compatible', base_url: fake.url, keys: [upstreamKey] });
    if (added.status !== 201) throw new Error(`could not add upstream: ${JSON.stringify(added.body)}`);
  }

  return harness;
}
