import type { AuditLog } from '../audit/index.js';
import { SOLE_LEADER, type LeaderLease } from '../cluster/leader-lease.js';
import type { KeyService } from '../admin/key-service.js';
import type { Logger } from '../log/logger.js';
import type { AlertService } from '../monitor/alert-service.js';
import type { OutboundLookup } from '../policy/outbound-connect.js';
import type { OutboundPolicy } from '../policy/outbound-url.js';
import type { Store } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import type { ProvidersConfig } from './config.js';
import type { DoctorReport } from '../doctor/finding.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { PartnerKeyCache } from './github/partner-keys.js';
import { GitHubPartnerReceiver } from './github/partner-receiver.js';
import { LeakReportService } from './leak-report-service.js';
import { ProviderConnection } from './provider-connection.js';
import { ReconcileJob } from './reconcile-job.js';
import type { UpstreamService } from '../admin/upstream-service.js';
import { ProviderRotation } from './rotation/provider-rotation.js';
import { RotationJob, rotationPeriodOf } from './rotation/rotation-job.js';
import { UpstreamLinks } from './rotation/upstream-link.js';
import { UpstreamLinking } from './rotation/upstream-linking.js';
import { GitHubAlertWebhook } from './github/alert-webhook.js';

export interface ProviderServices {
  connection: ProviderConnection;
  reconcile: ReconcileJob;
  leaks: LeakReportService;
  github: GitHubPartnerReceiver;
  githubWebhook: GitHubAlertWebhook;
  rotation: ProviderRotation;
  rotationJob: RotationJob;
  linking: UpstreamLinking;
  store: Store;
  vault: Vault;
  now: () => number;
  doctor(): Promise<DoctorReport>;
  close(): Promise<void>;
}

export interface ProviderServicesDeps {
  store: Store;
  /** Which replica runs the timed reconciliation and rotation passes (started and stopped here); default: this one. */
  leader?: LeaderLease;
  vault: Vault;
  audit: AuditLog;
  keys: KeyService;
  upstreams: UpstreamService;
  alerts: AlertService | null;
  outbound: OutboundPolicy;
  outboundLookup?: OutboundLookup;
  logger: Logger;
  now: () => number;
  config: ProvidersConfig;
  /** For `doctor`: where the master key file lives, the environment it may come from, the rotation age. */
  dataDir: string;
  env: NodeJS.ProcessEnv;
  rotationMaxAgeMs: number;
}

/** Everything provider-side, built once at start-up; the reconciliation timer starts here and stops on close. */
export function createProviderServices(deps: ProviderServicesDeps): ProviderServices {
  const lookup = deps.outboundLookup ? { outboundLookup: deps.outboundLookup } : {};
  const connection = new ProviderConnection({ meta: deps.store.meta, vault: deps.vault, audit: deps.audit, outbound: deps.outbound, now: deps.now, clientOptions: deps.config.adminApi, ...lookup });
  const links = new UpstreamLinks(deps.store.meta);
  const leader = deps.leader ?? SOLE_LEADER;
  const rotationDeps = { upstreams: deps.upstreams, links, connection, vault: deps.vault, audit: deps.audit, now: deps.now };
  const rotation = new ProviderRotation(rotationDeps);
  const reconcile = new ReconcileJob({
    store: deps.store,
    vault: deps.vault,
    connection,
    audit: deps.audit,
    alerts: deps.alerts,
    logger: deps.logger,
    now: deps.now,
    config: deps.config.reconcile,
    leader,
    rotate: async (upstreamId) => {
      if (!(await links.get(upstreamId))) return 'not rotated: the upstream is not linked to a service account (keywarden upstreams link NAME)';
      const done = await rotation.rotate(upstreamId, 'system:reconcile', { drainTimeoutMs: deps.config.rotation.drainTimeoutMs });
      return `rotated to ${done.added_display}; old key ${done.deleted_provider_key_ids.length > 0 ? 'deleted at OpenAI' : 'still live at OpenAI (see the audit log)'}`;
    },
  });
  const partnerKeys = new PartnerKeyCache(deps.config.github.partnerKeysUrl, deps.config.github.keysCacheMs, deps.now, deps.outbound, deps.outboundLookup);
  const rotationJob = new RotationJob({ store: deps.store, links, rotation, logger: deps.logger, now: deps.now, config: deps.config.rotation, leader });
  const leaks = new LeakReportService(deps.keys, connection, deps.audit);
  const githubWebhook = new GitHubAlertWebhook({
    config: deps.config.github.webhook,
    env: deps.env,
    leaks,
    audit: deps.audit,
    alerts: deps.alerts,
    logger: deps.logger,
    outbound: deps.outbound,
    ...lookup,
  });
  // The lease's first beat runs in the background; until it answers, this replica does not lead.
  void leader.start();
  reconcile.start();
  rotationJob.start();
  return {
    connection,
    reconcile,
    leaks,
    github: new GitHubPartnerReceiver(deps.keys, partnerKeys),
    githubWebhook,
    rotation,
    rotationJob,
    linking: new UpstreamLinking(rotationDeps),
    store: deps.store,
    vault: deps.vault,
    now: deps.now,
    doctor: () =>
      runDoctor({
        store: deps.store,
        vault: deps.vault,
        connection,
        dataDir: deps.dataDir,
        env: deps.env,
        rotationMaxAgeMs: deps.rotationMaxAgeMs,
        rotationPeriodOf: async (upstream) => rotationPeriodOf(upstream, await links.get(upstream.id), deps.config.rotation),
        now: deps.now,
      }),
    async close() {
      await rotationJob.stop();
      await leader.stop();
      await githubWebhook.close();
      await reconcile.stop();
      await connection.close();
      await partnerKeys.close();
    },
  };
}
