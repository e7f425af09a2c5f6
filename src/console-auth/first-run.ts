import type { KeywardenConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { AuditLog } from '../audit/index.js';
import type { Store } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { ConsoleAuth } from './console-auth.js';
import { issueSetupLink } from './setup-links.js';

/** The console's auth, from the config. */
export function createConsoleAuth(config: KeywardenConfig, services: { store: Store; vault: Vault; audit: AuditLog }, logger: Logger, now: () => number): ConsoleAuth {
  return new ConsoleAuth({
    ...services,
    logger,
    now,
    trustedProxies: config.server.trustedProxies,
    publicUrl: config.ui.publicUrl,
    idleMinutes: config.ui.session.idleMinutes,
    absoluteHours: config.ui.session.absoluteHours,
  });
}

/**
 * On a start with no console user yet: a one-time link to create the first owner. Returned for the caller to print
 * once on the console (never written to the JSON logs); only its hash is stored, and it expires in 15 minutes.
 */
export async function issueFirstRunSetupLink(auth: ConsoleAuth, listeningUrl: string): Promise<string | null> {
  if ((await auth.store.users.count()) > 0) return null;
  return (await issueSetupLink(auth.store, auth.now(), auth.publicUrl ?? listeningUrl, null, 'owner')).url;
}
