import dns from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { buildConnector } from 'undici';
import { normalizeHost, type OutboundPolicy } from './outbound-url.js';
import { parseIpLiteral } from './outbound-address.js';

/** A dns.lookup-compatible resolver; tests inject one to play DNS rebinding without touching /etc/hosts. */
export type OutboundLookup = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: OutboundLookup = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/** The error a refused connection fails with; `code` is what delivery logs and upstream errors report. */
export class OutboundRefusedError extends Error {
  readonly code = 'EOUTBOUNDREFUSED';
  constructor(reason: string) {
    super(`outbound connection refused: ${reason}`);
    this.name = 'OutboundRefusedError';
  }
}

type NetLookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * net/tls `lookup` hook: resolves every address of the name and refuses the connection when any of them is not
 * allowed. Refusing (rather than dropping the bad answers) keeps the rule simple: a name that can point inside is
 * not a public name.
 */
function guardedLookup(policy: OutboundPolicy, lookup: OutboundLookup) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: NetLookupCallback): void => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const refused = addresses.find((entry) => !policy.isAddressAllowed(entry.address));
      if (refused !== undefined || addresses.length === 0) {
        return callback(new OutboundRefusedError(`${normalizeHost(hostname)} resolves to a forbidden address`), []);
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

export interface GuardedConnectOptions {
  /** Resolver override (tests). */
  lookup?: OutboundLookup;
  /** Connect timeout, ms (undici's default is 10 s). */
  timeout?: number;
}

/**
 * An undici `connect` function that applies the outbound policy when a socket is opened: an IP literal must be
 * allowed, an allowlisted host name connects wherever it resolves, and any other name connects only when every
 * address it resolves to is public or allowlisted. Use it for every undici Pool/Agent that leaves the process.
 */
export function guardedConnect(policy: OutboundPolicy, options: GuardedConnectOptions = {}): buildConnector.connector {
  const lookup = options.lookup ?? systemLookup;
  const base = options.timeout === undefined ? {} : { timeout: options.timeout };
  const trusting = buildConnector({ ...base, lookup: systemOrInjected(lookup) });
  const checking = buildConnector({ ...base, lookup: guardedLookup(policy, lookup) });
  return (connectOptions, callback) => {
    const host = normalizeHost(connectOptions.hostname);
    const port = connectOptions.port === '' ? (connectOptions.protocol === 'http:' ? 80 : 443) : Number(connectOptions.port);
    if (policy.isHostAllowed(host, port)) return trusting(connectOptions, callback);
    if (parseIpLiteral(host) !== null && !policy.isAddressAllowed(host)) {
      return callback(new OutboundRefusedError(`the address ${host} is not allowed`), null);
    }
    return checking(connectOptions, callback);
  };
}

/** Allowlisted names still resolve through the injected resolver, so tests and production take one path. */
function systemOrInjected(lookup: OutboundLookup) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: NetLookupCallback): void => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/** A net/tls `lookup` option: what `guardedNetLookup` returns. */
export type NetLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: NetLookupCallback) => void;

/**
 * The same policy as guardedConnect, for one connection opened outside undici (a WebSocket to the upstream): the
 * `lookup` to pass to net/tls for `hostname`. An IP literal is never looked up by net, so a literal the policy
 * refuses throws OutboundRefusedError here, before any socket exists.
 */
export function guardedNetLookup(policy: OutboundPolicy, hostname: string, port: number, lookup: OutboundLookup = systemLookup): NetLookup {
  const host = normalizeHost(hostname);
  if (policy.isHostAllowed(host, port)) return systemOrInjected(lookup);
  if (parseIpLiteral(host) !== null && !policy.isAddressAllowed(host)) throw new OutboundRefusedError(`the address ${host} is not allowed`);
  return guardedLookup(policy, lookup);
}
