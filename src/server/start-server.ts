import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApp } from '../admin/router.js';
import type { KeywardenConfig } from '../config/index.js';
import { createGateway, type Gateway } from '../gateway/create-gateway.js';
import type { Logger } from '../log/logger.js';
import { PriceTable } from '../pricing/index.js';
import { bootstrap, type BootstrapNotice, type Services } from './bootstrap.js';
import { createHttpServer } from './http-server.js';

export interface RunningServer {
  server: Server;
  gateway: Gateway;
  services: Services;
  notice: BootstrapNotice;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: KeywardenConfig;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  now?: () => number;
}

/** Boots everything and listens. Used by `keywarden serve` and by in-process end-to-end tests. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const now = options.now ?? Date.now;
  const { config, logger } = options;
  let gateway: Gateway | null = null;
  const { services, notice } = await bootstrap(config, options.env, now, async () => gateway?.upstreams.invalidate(), logger);
  gateway = createGateway({
    store: services.store,
    vault: services.vault,
    config,
    prices: new PriceTable(config.pricing.overrides),
    logger,
    now,
  });
  const reconciled = await services.store.spend.reconcileOpenReservations();
  if (reconciled > 0) logger.warn('charged open budget reservations left by an unclean shutdown', { reservations: reconciled });
  const admin = createAdminApp({ ...services, limiter: gateway.limiter, logger, now });
  let ready = false;
  const server = createHttpServer({ gateway, admin, isReady: () => ready });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  ready = true;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const running: RunningServer = {
    server,
    gateway,
    services,
    notice,
    url: `http://${host}:${address.port}`,
    async close() {
      ready = false;
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
      await running.gateway.close();
      await services.store.close();
    },
  };
  return running;
}
