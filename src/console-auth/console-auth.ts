import type { AuditLog } from '../audit/index.js';
import type { Logger } from '../log/logger.js';
import type { Store, UserRecord } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { AttemptGuard } from './attempt-guard.js';
import { createRequestFactsReader, type RequestFactsReader } from './request-context.js';
import { SecondFactors, type MfaSummary } from './second-factors.js';
import { SessionService } from './session-service.js';

export interface ConsoleAuthOptions {
  store: Store;
  vault: Vault;
  audit: AuditLog;
  logger: Logger;
  now: () => number;
  trustedProxies: readonly string[];
  /** config `ui.publicUrl`: the console's origin for links, CSRF and WebAuthn; else derived from each request. */
  publicUrl: string | undefined;
  idleMinutes: number;
  absoluteHours: number;
}

export interface UserView {
  id: string;
  name: string;
  role: UserRecord['role'];
  mfa: MfaSummary;
  setup_pending: boolean;
  created_at: string;
}

/** Everything the console's sign-in needs, built once at start-up and shared by its routes and the admin middleware. */
export class ConsoleAuth {
  readonly store: Store;
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly now: () => number;
  readonly publicUrl: string | undefined;
  readonly sessions: SessionService;
  readonly guard: AttemptGuard;
  readonly factors: SecondFactors;
  readonly facts: RequestFactsReader;

  constructor(options: ConsoleAuthOptions) {
    this.store = options.store;
    this.vault = options.vault;
    this.audit = options.audit;
    this.logger = options.logger;
    this.now = options.now;
    this.publicUrl = options.publicUrl;
    this.sessions = new SessionService(options.store, options.now, options.idleMinutes * 60_000, Math.round(options.absoluteHours * 3_600_000));
    this.guard = new AttemptGuard(options.store, options.audit, options.now);
    this.factors = new SecondFactors(options.store, options.vault, options.audit, options.now);
    this.facts = createRequestFactsReader(options.trustedProxies, options.publicUrl);
  }

  async userView(user: UserRecord): Promise<UserView> {
    return {
      id: user.id,
      name: user.name,
      role: user.role,
      mfa: await this.factors.summary(user),
      setup_pending: user.passwordHash === null,
      created_at: new Date(user.createdAt).toISOString(),
    };
  }
}
