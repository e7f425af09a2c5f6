import { OutboundRefusedError } from '../../policy/outbound-connect.js';
import { parseIpLiteral } from '../../policy/outbound-address.js';
import { normalizeHost } from '../../policy/outbound-url.js';
import { lookup as dnsLookup } from 'node:dns';
import type { SinkNetwork } from './sink-network.js';

/**
 * Where nodemailer should connect for an SMTP sink, decided by the outbound policy at connect time. An allowlisted
 * host is used as written. Any other name is resolved here, every address checked, and the connection pinned to a
 * checked address (with the name kept for TLS), so a DNS answer that changes to 127.0.0.1 is never dialled.
 */
export async function smtpTarget(host: string, port: number, network: SinkNetwork): Promise<{ host: string; servername?: string }> {
  const name = normalizeHost(host);
  const { policy } = network;
  if (policy.isHostAllowed(name, port)) return { host };
  const checked = policy.checkHost(name, port);
  if (!checked.ok) throw new OutboundRefusedError(checked.reason);
  if (parseIpLiteral(name) !== null) return { host: name };
  const addresses = await new Promise<Array<{ address: string; family: number }>>((resolve, reject) => {
    const lookup = network.lookup ?? ((h, o, cb) => dnsLookup(h, o, cb));
    lookup(name, { all: true }, (err, found) => (err ? reject(err) : resolve(found)));
  });
  const first = addresses[0];
  if (first === undefined || addresses.some((entry) => !policy.isAddressAllowed(entry.address))) {
    throw new OutboundRefusedError(`${name} resolves to a forbidden address`);
  }
  return { host: first.address, servername: name };
}
