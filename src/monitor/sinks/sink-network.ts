import { Agent, type Dispatcher } from 'undici';
import { guardedConnect, type OutboundLookup } from '../../policy/outbound-connect.js';
import type { OutboundPolicy } from '../../policy/outbound-url.js';

/**
 * How alert sinks reach the network: one undici Agent whose connections go through the outbound policy, so a
 * webhook host that later resolves to 127.0.0.1 or 169.254.169.254 (DNS rebinding) is refused when it connects,
 * not only when the config loads. The email sink resolves and checks its SMTP host with the same policy.
 */
export interface SinkNetwork {
  readonly policy: OutboundPolicy;
  readonly dispatcher: Dispatcher;
  readonly lookup?: OutboundLookup;
}

export function createSinkNetwork(policy: OutboundPolicy, lookup?: OutboundLookup): SinkNetwork {
  const dispatcher = new Agent({ connect: guardedConnect(policy, lookup ? { lookup } : {}) });
  return lookup ? { policy, dispatcher, lookup } : { policy, dispatcher };
}
