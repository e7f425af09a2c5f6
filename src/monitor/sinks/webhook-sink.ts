import type { AlertView } from '../alert-view.js';
import { postForSink } from './http-post.js';
import type { SinkNetwork } from './sink-network.js';
import type { AlertSink } from './types.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureHeader } from './webhook-signature.js';

export interface WebhookSinkOptions {
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  now: () => number;
  network: SinkNetwork;
}

/**
 * Generic webhook: `{"type":"keywarden.alert","alert":{…}}`, signed with HMAC-SHA256 over `timestamp.body`.
 * Each attempt is signed afresh with the current time, so a retry is never rejected as stale.
 */
export function createWebhookSink(options: WebhookSinkOptions): AlertSink {
  return {
    name: options.name,
    async send(alert: AlertView, signal: AbortSignal) {
      const body = JSON.stringify({ type: 'keywarden.alert', alert });
      const timestamp = Math.floor(options.now() / 1000);
      await postForSink(
        options.name,
        options.url,
        body,
        {
          'content-type': 'application/json',
          'user-agent': 'keywarden-alerts',
          'x-keywarden-alert-id': alert.id,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signatureHeader(options.secret, timestamp, body),
        },
        { timeoutMs: options.timeoutMs, signal, dispatcher: options.network.dispatcher },
      );
    },
  };
}
