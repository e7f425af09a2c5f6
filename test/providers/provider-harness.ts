import { startHarness, type Harness, type HarnessOptions } from '../support/gateway-harness.js';
import { startFakeOpenAIAdmin, type FakeOpenAIAdmin, type FakeOpenAIAdminOptions } from '../support/fake-openai-admin.js';

export interface ProviderHarness {
  h: Harness;
  admin: FakeOpenAIAdmin;
  /** KEYWARDEN_URL + KEYWARDEN_ADMIN_TOKEN for CLI runs. */
  env: NodeJS.ProcessEnv;
  /** Connects the fake organisation through the admin API; returns the HTTP status. */
  connect(): Promise<number>;
  close(): Promise<void>;
}

/** A keywarden server (real SQLite, real vault) + the fake OpenAI + the fake OpenAI Admin API, all on 127.0.0.1. */
export async function startProviderHarness(options: { harness?: HarnessOptions; admin?: FakeOpenAIAdminOptions } = {}): Promise<ProviderHarness> {
  const admin = await startFakeOpenAIAdmin(options.admin);
  const h = await startHarness({
    ...options.harness,
    config: {
      ...options.harness?.config,
      providers: { adminApi: { maxRetryAfterMs: 50 }, ...options.harness?.config?.providers, reconcile: { enabled: false, ...options.harness?.config?.providers?.reconcile } },
    },
  });
  return {
    h,
    admin,
    env: { KEYWARDEN_URL: h.server.url, KEYWARDEN_ADMIN_TOKEN: h.adminToken, CI: 'true' },
    async connect() {
      return (await h.admin('POST', '/providers/openai/connect', { admin_key: admin.adminKey, base_url: admin.url })).status;
    },
    async close() {
      await h.close();
      await admin.close();
    },
  };
}
