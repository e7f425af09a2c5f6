import { alertText, type AlertView } from '../alert-view.js';
import { postForSink } from './http-post.js';
import type { SinkNetwork } from './sink-network.js';
import type { AlertSink } from './types.js';

const EMOJI = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

/** Slack's mrkdwn treats &, < and > as markup; escape them so alert text cannot inject links or mentions. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload(alert: AlertView): { text: string } {
  return { text: `${EMOJI[alert.severity]} *${escapeMrkdwn(alert.title)}*\n${escapeMrkdwn(alertText(alert))}` };
}

/** Slack-compatible incoming webhook (also accepted by Mattermost, Rocket.Chat and others). */
export function createSlackSink(options: { name: string; url: string; timeoutMs: number; network: SinkNetwork }): AlertSink {
  return {
    name: options.name,
    async send(alert: AlertView, signal: AbortSignal) {
      await postForSink(options.name, options.url, JSON.stringify(slackPayload(alert)), { 'content-type': 'application/json' }, {
        timeoutMs: options.timeoutMs,
        signal,
        dispatcher: options.network.dispatcher,
      });
    },
  };
}
