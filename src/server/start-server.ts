import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApp } from '../admin/router.js';
import type { KeywardenConfig } from '../config/index.js';
import { createGateway, type Gateway } from '../gateway/create-gateway.js';
import type { Logger } from '../log/logger.js';
import { createMonitor } from '../monitor/create-monitor.js';
import { systemClock, type Clock } from '../monitor/clock.js';
import type { MonitorEngine } from '../monitor/engine.js';
import { createMonitorMetrics } from '../monitor/metrics.js';
import { projectBudgetStatuses } from '../monitor/project-budgets.js';
import { PriceTable } from '../pricing/index.js';
import { bootstrap, issueBootstrapAdminToken, type BootstrapNotice, type Services } from './bootstrap.js';
import { createHttpServer } from './http-server.js';
import { consoleServing } from '../console-serve/index.js';
import { createOutboundPolicy } from '../policy/outbound-url.js';
import { createLimitsBackend } from '../limits/redis/create-limits-backend.js';
import { createUsageOutageBuffer } from '../store/outage/create-usage-outage-buffer.js';
import type { OutboundLookup } from '../policy/outbound-connect.js';
import { createMetricsAuthorizer } from './metrics-auth.js';
import { createProviderServices, type ProviderServices } from '../providers/create-providers.js';
import { createLeakReceiverApp } from '../providers/github/receiver-app.js';
import { rollupCoverage } from '../admin/stats/rollup-coverage.js';
import { createConsoleAuth, issueFirstRunSetupLink } from '../console-auth/first-run.js';
import { allKeys, keyPages } from '../store/key-pages.js';

export interface RunningServer {
  server: Server;
  gateway: Gateway;
  services: Services;
  /** Null when monitoring is disabled in the config. */
  monitor: MonitorEngine | null;
  providers: ProviderServices;
  notice: BootstrapNotice;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: KeywardenConfig;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  now?: () => number;
  /** Drives monitoring's evaluation interval; tests pass a manual clock. Defaults to real time with `now`. */
  monitorClock?: Clock;
  /** Resolver for outbound connections (tests play DNS rebinding with it); default: the system resolver. */
  outboundLookup?: OutboundLookup;
}

/** Boots everything and listens. Used by `keywarden serve` and by in-process end-to-end tests. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const now = options.now ?? Date.now;
  const { config, logger } = options;
  let gateway: Gateway | null = null;
  const outbound = createOutboundPolicy(config.outbound);
  const outboundLookup = options.outboundLookup ? { outboundLookup: options.outboundLookup } : {};
  const { services, notice } = await bootstrap(config, options.env, now, async () => gateway?.upstreams.invalidate(), logger, outbound);
  const metrics = createMonitorMetrics();
  const monitorRepos = services.store.monitorRepositories();
  let monitor: MonitorEngine | null = null;
  if (config.monitor.enabled) {
    monitor = createMonitor(monitorRepos, config.monitor, {
      logger,
      metrics,
      clock: options.monitorClock ?? { now, every: (ms, fn) => systemClock.every(ms, fn) },
      audit: services.audit,
      outbound,
      ...outboundLookup,
      // The engine writes its own audit entry for automatic suspensions, so this call does not add a second one.
      suspendKey: async (keyId, reason) => {
        await services.store.keys.update(keyId, { suspendedAt: now(), suspendedReason: reason }, now());
      },
      // Page by page, with turns of the event loop between pages: a large store read at once held requests up.
      listKeys: () => allKeys(services.store.keys),
      leader: services.store.leaderLease('monitor', (leader) => logger.info(leader ? 'this replica now leads the monitor' : 'this replica no longer leads the monitor')),
      budgets: async () => {
        const statuses = [];
        // Only keys with budgets, page by page: 10,000 budgeted keys read and checked at once held the event loop for
        // half a second each minute.
        for await (const page of keyPages(services.store.keys, { withBudgets: true })) {
          for (const key of page) {
            for (const budget of await gateway!.limiter.budgetStatus(key, now())) {
              statuses.push({ keyId: key.id, keyName: key.name, spentUsd: budget.spent_usd, budgetUsd: budget.limit_usd, periodId: budget.period_key });
            }
          }
        }
        statuses.push(...(await projectBudgetStatuses(services.store.projects, gateway!.limiter, now())));
        return statuses;
      },
    });
  }
  const limits = await createLimitsBackend(config.limits, services.store.spend, logger);
  gateway = createGateway({
    limits: limits.backend,
    usageOutage: createUsageOutageBuffer(config.store.outageBuffer, config.dataDir, logger, services.audit),
    store: services.store,
    vault: services.vault,
    config,
    prices: new PriceTable(config.pricing.overrides),
    logger,
    now,
    outbound,
    ...outboundLookup,
    ...(monitor ? { monitor } : {}),
  });
  // Key rotation swaps keys in the live gateway and drains requests on the old key (upstream-key-service.ts).
  services.upstreams.keys.attach(gateway.upstreams);
  const liveGateway = gateway;
  metrics.gaugeRealtimeSessions(() => liveGateway.realtimeSessions());
  const reconciled = await services.store.spend.reconcileOpenReservations();
  if (reconciled > 0) logger.warn('charged open budget reservations left by an unclean shutdown', { reservations: reconciled });
  const providers = createProviderServices({
    ...services,
    leader: services.store.leaderLease('providers'),
    alerts: monitor?.alerts ?? null,
    outbound,
    ...(options.outboundLookup ? { outboundLookup: options.outboundLookup } : {}),
    logger,
    now,
    config: config.providers,
    dataDir: config.dataDir,
    env: options.env,
    rotationMaxAgeMs: config.monitor.detectors.rotation.maxAgeMs,
  });
  const consoleAuth = createConsoleAuth(config, services, logger, now);
  const admin = createAdminApp({
    ...services,
    consoleAuth,
    providers,
    limiter: gateway.limiter,
    alerts: monitorRepos.alerts,
    rollups: monitorRepos.rollups,
    hourRetentionMs: config.monitor.retention.hourMs,
    rollupCoverage: rollupCoverage(config.monitor),
    maxBodyBytes: config.server.adminMaxBodyBytes,
    bodyPace: { timeoutMs: config.server.bodyTimeoutMs, minBytesPerSecond: config.server.bodyMinBytesPerSecond },
    logger,
    now,
  });
  await monitor?.start();
  let ready = false;
  const authorizeMetrics = createMetricsAuthorizer(services.adminTokens, config.metrics.token);
  const server = createHttpServer({
    gateway,
    admin,
    leaks: createLeakReceiverApp(providers.github, providers.githubWebhook),
    metrics,
    isReady: () => ready,
    authorizeMetrics,
    timeouts: config.server,
    dependencies: () => ({ ...limits.dependencies(), ...services.store.dependencies?.() }),
    refusingAll: () => limits.refusingAll(),
    console: consoleServing(config.ui.enabled, logger),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // Nothing listens: release what the boot opened, so the caller can report the cause and exit cleanly.
    await gateway.close().catch(() => undefined);
    await monitor?.stop().catch(() => undefined);
    await providers.close().catch(() => undefined);
    await limits.close().catch(() => undefined);
    await services.store.close().catch(() => undefined);
    services.dataDirLock.release();
    throw err;
  }
  // Only now, with the socket bound, is a bootstrap token issued: it is shown once and must not be lost.
  notice.createdAdminToken = await issueBootstrapAdminToken(services.adminTokens, options.env);
  ready = true;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  notice.setupLink = await issueFirstRunSetupLink(consoleAuth, `http://${host}:${address.port}`);
  const running: RunningServer = {
    server,
    gateway,
    services,
    monitor,
    providers,
    notice,
    url: `http://${host}:${address.port}`,
    async close() {
      ready = false;
      // Upgraded sockets hold server.close() open until they end: Realtime sessions are told to go away first.
      running.gateway.endRealtimeSessions();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // In-flight responses may finish (up to a grace period); idle keep-alive connections are closed as soon
        // as nothing is in flight, so shutdown neither cuts answers short nor waits for idle clients.
        const deadline = Date.now() + 5_000;
        const sweep = (): void => {
          if (server.activeRequests() === 0 || Date.now() >= deadline) server.closeAllConnections();
          else setTimeout(sweep, 25).unref();
        };
        sweep();
      });
      await providers.close();
      await running.gateway.close();
      await limits.close();
      await monitor?.stop();
      await services.store.close();
      services.dataDirLock.release();
    },
  };
  return running;
}
