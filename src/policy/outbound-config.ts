import { z } from 'zod';
import type { MonitorConfig } from '../monitor/config.js';
import { createOutboundPolicy, parseAllowEntry } from './outbound-url.js';

/**
 * `outbound` in keywarden.config: where keywarden may send requests besides public https hosts. On-prem upstreams
 * (Ollama, vLLM, an internal proxy) and internal alert receivers go here, e.g.
 * `allow: ['10.0.0.0/8', 'llm.internal:8443', 'http://localhost:11434']`. Empty by default: only public https.
 */
export const outboundConfigSchema = z
  .object({
    allow: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const parsed = parseAllowEntry(entry);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
        }),
      )
      .max(1_000)
      .default([]),
  })
  .strict();

export type OutboundConfig = z.output<typeof outboundConfigSchema>;

/**
 * Config-time check of every alert sink destination against the outbound policy, each problem reported with its
 * path (monitor.sinks.webhooks.0.url). The reason never repeats the URL: webhook URLs are often secrets.
 */
export function refineSinkTargets(
  config: { outbound: OutboundConfig; monitor: MonitorConfig },
  ctx: z.core.$RefinementCtx,
): void {
  let policy;
  try {
    policy = createOutboundPolicy(config.outbound);
  } catch {
    return; // outbound.allow itself is invalid and already reported with its path.
  }
  const report = (path: Array<string | number>, reason: string): void => ctx.addIssue({ code: 'custom', path, message: reason });
  config.monitor.sinks.webhooks.forEach((sink, i) => {
    const verdict = policy.checkUrl(sink.url);
    if (!verdict.ok) report(['monitor', 'sinks', 'webhooks', i, 'url'], verdict.reason);
  });
  config.monitor.sinks.slack.forEach((sink, i) => {
    const verdict = policy.checkUrl(sink.url);
    if (!verdict.ok) report(['monitor', 'sinks', 'slack', i, 'url'], verdict.reason);
  });
  config.monitor.sinks.email.forEach((sink, i) => {
    const verdict = policy.checkHost(sink.host, sink.port);
    if (!verdict.ok) report(['monitor', 'sinks', 'email', i, 'host'], verdict.reason);
  });
}
