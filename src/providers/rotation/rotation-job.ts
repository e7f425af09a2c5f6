import { asKeywardenError } from '../../errors/index.js';
import type { LeaderLease } from '../../cluster/leader-lease.js';
import { describeError, type Logger } from '../../log/logger.js';
import type { Store, UpstreamRecord } from '../../store/index.js';
import { parseDuration } from '../../util/duration.js';
import type { ProvidersConfig } from '../config.js';
import type { ProviderRotation } from './provider-rotation.js';
import type { UpstreamLinks, UpstreamProviderLink } from './upstream-link.js';

export const ROTATION_ACTOR = 'system:rotation';

/** The rotation period of an upstream: set on its link (`upstreams update --rotation`), else in the config by name. */
export function rotationPeriodOf(upstream: UpstreamRecord, link: UpstreamProviderLink | null, config: ProvidersConfig['rotation']): number | null {
  if (link?.rotationMs) return link.rotationMs;
  const configured = config.upstreams[upstream.name];
  return configured === undefined ? null : parseDuration(configured);
}

/** When the upstream's oldest key was vaulted: keys record it since provider rotation; older keys date from the upstream. */
export function oldestKeyAt(upstream: UpstreamRecord): number {
  return upstream.keys.reduce((oldest, key) => Math.min(oldest, key.createdAt ?? upstream.createdAt), Number.POSITIVE_INFINITY);
}

export interface RotationJobDeps {
  store: Store;
  links: UpstreamLinks;
  rotation: ProviderRotation;
  logger: Logger;
  now: () => number;
  config: ProvidersConfig['rotation'];
  /** Replicas: only the lease holder runs the timed pass (absent: this process always does). */
  leader?: Pick<LeaderLease, 'isLeader'>;
}

export interface RotationPassResult {
  rotated: string[];
  failed: string[];
}

/**
 * Scheduled rotation: on its timer, every linked upstream whose oldest key is older than its rotation period is
 * rotated at the provider, and old keys whose deletion failed earlier are deleted. The clock is injected, so a
 * test moves time instead of waiting. One pass at a time in this process; with several replicas, only the holder
 * of the provider jobs' leader lease runs the timed pass.
 */
export class RotationJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RotationPassResult> | null = null;

  constructor(private readonly deps: RotationJobDeps) {}

  start(): void {
    if (!this.deps.config.enabled || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.config.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => null);
  }

  runOnce(): Promise<RotationPassResult> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async tick(): Promise<void> {
    if (!(this.deps.leader?.isLeader ?? true)) return;
    try {
      await this.runOnce();
    } catch (err) {
      this.deps.logger.warn('scheduled upstream rotation pass failed', { code: asKeywardenError(err).code, ...describeError(err) });
    }
  }

  private async pass(): Promise<RotationPassResult> {
    const result: RotationPassResult = { rotated: [], failed: [] };
    const now = this.deps.now();
    for (const upstream of await this.deps.store.upstreams.list()) {
      const link = await this.deps.links.get(upstream.id);
      if (!link) continue;
      try {
        if (link.pendingDeletes.length > 0) await this.deps.rotation.retryPendingDeletes(upstream.id, ROTATION_ACTOR);
        const period = rotationPeriodOf(upstream, link, this.deps.config);
        if (period === null || now - oldestKeyAt(upstream) < period) continue;
        await this.deps.rotation.rotate(upstream.id, ROTATION_ACTOR, { drainTimeoutMs: this.deps.config.drainTimeoutMs });
        result.rotated.push(upstream.id);
      } catch (err) {
        // Each step of a failed rotation is already audited; the log line is for the operator watching.
        result.failed.push(upstream.id);
        this.deps.logger.warn('scheduled upstream rotation failed; the old key stays in use', { upstream: upstream.name, code: asKeywardenError(err).code, ...describeError(err) });
      }
    }
    return result;
  }
}
