import type { AuditLog } from '../../audit/index.js';
import { describeError, type Logger } from '../../log/logger.js';
import type { OutageBufferConfig } from './outage-buffer-config.js';
import { UsageOutageBuffer } from './usage-outage-buffer.js';
import { UsageSpillFile } from './usage-spill-file.js';

/**
 * The gateway's outage buffer, built once at start-up. Filling up is logged at once (the store, and with it the
 * audit log, is unreachable at that moment); the audit entry, with how many requests were refused, is written when
 * the spilled records have been replayed, which is when the store is back.
 */
export function createUsageOutageBuffer(config: OutageBufferConfig, dataDir: string, logger: Logger, audit: AuditLog | null): UsageOutageBuffer {
  return new UsageOutageBuffer({
    maxRecords: config.maxRecords,
    spill: new UsageSpillFile(config.dir ?? dataDir, config.maxSpillBytes),
    onStateChange: (state) => {
      if (state.full) {
        logger.error('usage outage buffer is full: requests on keys with limits or budgets are refused with 503 until the database returns', {
          spillBytes: state.spillBytes,
        });
        return;
      }
      logger.warn('usage outage buffer replayed; requests with limits are admitted again', { refusedRequests: state.refusedRequests });
      audit
        ?.append({ actor: 'system:gateway', action: 'security.usage_buffer_full', target: 'usage:outage-buffer', after: { refusedRequests: state.refusedRequests, spillBytes: state.spillBytes } })
        .catch((err: unknown) => logger.error('could not audit the usage outage buffer filling up', describeError(err)));
    },
  });
}
