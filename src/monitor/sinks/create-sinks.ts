import { KeywardenError } from '../../errors/index.js';
import type { MonitorConfig } from '../config.js';
import { createEmailSink } from './email-sink.js';
import { createSlackSink } from './slack-sink.js';
import type { SinkNetwork } from './sink-network.js';
import type { AlertSink } from './types.js';
import { createWebhookSink } from './webhook-sink.js';

/** Builds the configured sinks. Names must be unique: deliveries are recorded per sink name. */
export function createSinks(config: MonitorConfig, now: () => number, network: SinkNetwork): AlertSink[] {
  const { timeoutMs } = config.delivery;
  const sinks: AlertSink[] = [
    ...config.sinks.webhooks.map((w) => createWebhookSink({ ...w, timeoutMs, now, network })),
    ...config.sinks.slack.map((s) => createSlackSink({ ...s, timeoutMs, network })),
    ...config.sinks.email.map((e) => createEmailSink({ ...e, timeoutMs, network })),
  ];
  const names = new Set<string>();
  for (const sink of sinks) {
    if (names.has(sink.name)) {
      throw new KeywardenError('KW_CONFIG_INVALID', { message: `monitor.sinks: duplicate sink name "${sink.name}"; give each sink a name` });
    }
    names.add(sink.name);
  }
  return sinks;
}
