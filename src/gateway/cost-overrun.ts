import type { Admission } from '../limits/limiter.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMonitor } from './security-events.js';

/**
 * A settlement above its reservation means the proven bound was not one: the truth was charged, and this makes it
 * loud — an error in the log and a critical alert through the monitor.
 */
export function reportCostOverrun(logger: Logger, monitor: GatewayMonitor | undefined, keyId: string, admission: Admission, overrunUsd: number, ts: number): void {
  const reservedUsd = admission.ticket.reservedUsd;
  const chargedUsd = reservedUsd + overrunUsd;
  logger.error('cost bound exceeded: the provider billed more than was reserved', { keyId, model: admission.model, reservedUsd, chargedUsd });
  monitor?.securityEvent({ type: 'cost_bound_exceeded', ts, keyId, model: admission.model, reservedUsd, chargedUsd });
}
