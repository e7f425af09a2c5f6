import type { SignedAnchor } from '../audit/anchor.js';
import { randomBase62 } from '../keys/index.js';
import { describeError, type Logger } from '../log/logger.js';
import { alertView } from './alert-view.js';
import type { Sleep } from './clock.js';
import { deliverWithRetry, type RetryPolicy } from './delivery.js';
import type { MonitorMetrics } from './metrics.js';
import type { AlertRepository } from './repositories.js';
import type { AlertSink } from './sinks/types.js';
import type { AlertRecord, DeliveryRecord } from './types.js';

export interface DispatcherDeps {
  repo: AlertRepository;
  sinks: readonly AlertSink[];
  policy: RetryPolicy;
  sleep: Sleep;
  now: () => number;
  logger: Logger;
  metrics?: MonitorMetrics;
  /** The signed audit head, sent with every delivery so each sink holds an off-box copy of the anchor. */
  auditHead?: () => Promise<SignedAnchor | null>;
  /**
   * Whether this process delivers (default: always). Replicas that are not the monitor's leader only record their
   * deliveries as pending; the leader picks them up on its next evaluation, so each delivery is sent by one replica.
   */
  deliverHere?: () => boolean;
}

/**
 * Sends alerts to every sink in the background. Each (alert, sink) pair is a delivery row, written as `pending`
 * before the first attempt and updated after each one, so an alert is never lost silently: it ends `delivered`,
 * or `failed` (logged, counted in metrics, listed by the admin API), or stays `pending` across a restart and is
 * resumed by `resume()`.
 */
export class AlertDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries this process is sending now: `resume` must not start them a second time. */
  private readonly running = new Set<string>();
  private readonly shutdown = new AbortController();

  constructor(private readonly deps: DispatcherDeps) {}

  get sinkCount(): number {
    return this.deps.sinks.length;
  }

  /** Records one pending delivery per sink, then delivers in the background. */
  async dispatch(alert: AlertRecord): Promise<void> {
    for (const sink of this.deps.sinks) {
      const now = this.deps.now();
      const delivery: DeliveryRecord = {
        id: `dlv_${randomBase62(16)}`,
        alertId: alert.id,
        sink: sink.name,
        status: 'pending',
        attempts: 0,
        lastError: null,
        createdAt: now,
        updatedAt: now,
      };
      await this.deps.repo.insertDelivery(delivery);
      if (this.deps.deliverHere?.() ?? true) this.start(delivery, alert, sink);
    }
  }

  /**
   * Picks up pending deliveries this process is not already sending: left by a previous process, or recorded by a
   * replica that is not the leader. Returns how many were resumed.
   */
  async resume(): Promise<number> {
    const pending = (await this.deps.repo.listDeliveries({ status: 'pending', limit: 10_000 })).filter((d) => !this.running.has(d.id));
    for (const delivery of pending) {
      const alert = await this.deps.repo.get(delivery.alertId);
      const sink = this.deps.sinks.find((s) => s.name === delivery.sink);
      if (!alert || !sink) {
        await this.finish(delivery, 'failed', delivery.attempts, 'sink no longer configured');
        continue;
      }
      this.start(delivery, alert, sink);
    }
    return pending.length;
  }

  /** Resolves when every delivery started so far has finished (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Interrupts retries (their rows stay pending for the next start) and closes the sinks. */
  async close(): Promise<void> {
    this.shutdown.abort(new Error('monitor shutting down'));
    await this.idle();
    await Promise.all(this.deps.sinks.map((sink) => sink.close?.() ?? Promise.resolve()));
  }

  /** Never blocks a delivery: an unreadable head is sent as null (and verification will report why). */
  private async auditHead(): Promise<SignedAnchor | null> {
    try {
      return (await this.deps.auditHead?.()) ?? null;
    } catch {
      return null;
    }
  }

  private start(delivery: DeliveryRecord, alert: AlertRecord, sink: AlertSink): void {
    this.running.add(delivery.id);
    this.track(this.run(delivery, alert, sink).finally(() => this.running.delete(delivery.id)));
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async run(delivery: DeliveryRecord, alert: AlertRecord, sink: AlertSink): Promise<void> {
    const view = { ...alertView(alert), audit_head: await this.auditHead() };
    const previous = delivery.attempts;
    try {
      const outcome = await deliverWithRetry((signal) => sink.send(view, signal), this.deps.policy, {
        sleep: this.deps.sleep,
        signal: this.shutdown.signal,
        onAttempt: (attempts, error) =>
          this.deps.repo.updateDelivery(delivery.id, {
            status: 'pending',
            attempts: previous + attempts,
            lastError: error,
            updatedAt: this.deps.now(),
          }),
      });
      if (outcome.status === 'interrupted') return;
      await this.finish(delivery, outcome.status, previous + outcome.attempts, outcome.status === 'failed' ? outcome.error : null);
    } catch (err) {
      this.deps.logger.error('alert delivery could not be recorded', { alertId: alert.id, sink: sink.name, ...describeError(err) });
    }
  }

  private async finish(delivery: DeliveryRecord, status: 'delivered' | 'failed', attempts: number, error: string | null): Promise<void> {
    await this.deps.repo.updateDelivery(delivery.id, { status, attempts, lastError: error, updatedAt: this.deps.now() });
    if (status === 'failed') {
      this.deps.metrics?.deliveryFailed(delivery.sink);
      this.deps.logger.error('alert delivery failed', { alertId: delivery.alertId, sink: delivery.sink, attempts, error });
    }
  }
}
