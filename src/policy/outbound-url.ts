import ipaddr from 'ipaddr.js';
import { ipv4Equivalent, isPublicAddress, parseIpLiteral } from './outbound-address.js';

/**
 * The one outbound URL policy, for everything keywarden sends somewhere: upstream base URLs, alert sinks (webhook,
 * Slack, SMTP hosts) and scanner verification. A URL is accepted when it is https (or http to an allowlisted host),
 * carries no userinfo and no fragment, and its host is not a private, loopback, link-local, CGNAT, multicast,
 * unspecified, reserved or metadata address or name — unless the operator lists it in `outbound.allow`.
 * The same policy is applied again to every address a name resolves to when a connection is made
 * (outbound-connect.ts), so a DNS answer cannot swap a public name for 127.0.0.1 or 169.254.169.254 later.
 *
 * Allowlist entries (`outbound.allow`):
 * - `10.0.0.0/8`, `fd00::/8`, `127.0.0.1`: addresses in the range, any port, reached by IP or by any name;
 * - `llm.internal`, `*.corp.example`: that name (or its subdomains), any port, whatever it resolves to;
 * - `llm.internal:8443`, `[::1]:8000`: that name or IP literal on that port only;
 * - `http://localhost:11434`: the same as `localhost:11434` (written the way Ollama's docs print it).
 * Any allowlisted host may also be reached over plain http.
 */

/** Names that only ever mean "this machine", "this network" or a cloud metadata service. */
const BLOCKED_NAMES = new Set(['localhost', 'metadata', 'metadata.goog', 'instance-data', 'kubernetes.default']);
/** Special-use suffixes (RFC 6761, RFC 8375, ICANN's .internal): never public. */
const BLOCKED_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.localdomain', '.svc', '.cluster.local'];

const MAX_URL_LENGTH = 2048;

type AllowEntry =
  | { kind: 'cidr'; range: [ipaddr.IPv4 | ipaddr.IPv6, number] }
  | { kind: 'host'; host: string; port: number | null }
  | { kind: 'suffix'; suffix: string; port: number | null };

export type OutboundVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export interface OutboundPolicy {
  /** Checks a URL at configuration or creation time. The reason never repeats the URL (it may hold a secret). */
  checkUrl(raw: string): OutboundVerdict;
  /** Checks a bare host (SMTP) the same way. */
  checkHost(host: string, port: number): { ok: true } | { ok: false; reason: string };
  /** Whether this host (name or IP literal, normalized) on this port is listed in the allowlist. */
  isHostAllowed(host: string, port: number): boolean;
  /** Whether an address a connection is about to use is public or allowlisted (connect time). */
  isAddressAllowed(address: string): boolean;
}

/** Lower case, without brackets and trailing dots: `LLM.Internal.` and `llm.internal` are one host. */
export function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase().replace(/\.+$/, '');
  const ip = parseIpLiteral(lower);
  return ip === null ? lower : ip.toString();
}

function defaultPort(protocol: string): number {
  return protocol === 'http:' ? 80 : 443;
}

function portOf(url: URL): number {
  return url.port === '' ? defaultPort(url.protocol) : Number(url.port);
}

/** Parses one allowlist entry; returns an error message for the config validator when it cannot. */
export function parseAllowEntry(entry: string): AllowEntry | string {
  const text = entry.trim();
  if (text === '' || text.length > 300) return 'allowlist entries are non-empty and at most 300 characters';
  if (text.includes('/') && !text.includes('://')) {
    try {
      return { kind: 'cidr', range: ipaddr.parseCIDR(text) };
    } catch {
      return `"${text}" is not a valid CIDR range`;
    }
  }
  const ip = parseIpLiteral(text);
  if (ip !== null) return { kind: 'cidr', range: [ip, ip.kind() === 'ipv4' ? 32 : 128] };
  const wildcard = text.startsWith('*.');
  const candidate = text.includes('://') ? text : `http://${wildcard ? text.slice(2) : text}`;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return `"${text}" is not a host, host:port, URL or CIDR range`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}": only http and https URLs can be allowed`;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    return `"${text}": an allowlist entry names a host (and port), nothing else`;
  }
  const explicitPort = /:\d+\/?$/.test(text) ? portOf(url) : null;
  const host = normalizeHost(url.hostname);
  return wildcard ? { kind: 'suffix', suffix: `.${host}`, port: explicitPort } : { kind: 'host', host, port: explicitPort };
}

function isBlockedName(host: string): boolean {
  return BLOCKED_NAMES.has(host) || BLOCKED_SUFFIXES.some((suffix) => host.endsWith(suffix)) || !host.includes('.');
}

export interface OutboundPolicyOptions {
  allow: readonly string[];
}

export function createOutboundPolicy(options: OutboundPolicyOptions): OutboundPolicy {
  const entries: AllowEntry[] = [];
  for (const raw of options.allow) {
    const parsed = parseAllowEntry(raw);
    // The config schema reports bad entries with their path; here a bad one can only come from code.
    if (typeof parsed === 'string') throw new Error(`outbound.allow: ${parsed}`);
    entries.push(parsed);
  }
  const ranges = entries.filter((e) => e.kind === 'cidr').map((e) => e.range);

  const addressListed = (address: ipaddr.IPv4 | ipaddr.IPv6): boolean => {
    const v4 = ipv4Equivalent(address);
    return ranges.some((range) => {
      if (address.kind() === range[0].kind() && address.match(range)) return true;
      return v4 !== null && range[0].kind() === 'ipv4' && v4.match(range);
    });
  };

  const isHostAllowed = (host: string, port: number): boolean => {
    const name = normalizeHost(host);
    const ip = parseIpLiteral(name);
    if (ip !== null && addressListed(ip)) return true;
    return entries.some((entry) => {
      if (entry.kind === 'cidr') return false;
      if (entry.port !== null && entry.port !== port) return false;
      return entry.kind === 'host' ? entry.host === name : name.endsWith(entry.suffix);
    });
  };

  const checkHost = (host: string, port: number): { ok: true } | { ok: false; reason: string } => {
    const name = normalizeHost(host);
    if (name === '') return { ok: false, reason: 'the URL has no host' };
    if (isHostAllowed(name, port)) return { ok: true };
    const ip = parseIpLiteral(name);
    if (ip !== null) {
      return isPublicAddress(ip)
        ? { ok: true }
        : { ok: false, reason: `the address ${ip.toString()} is private, loopback, link-local or reserved; add it to outbound.allow if it is meant` };
    }
    if (isBlockedName(name)) {
      return { ok: false, reason: `the host "${name}" is local or internal; add it to outbound.allow if it is meant` };
    }
    return { ok: true };
  };

  return {
    isHostAllowed,
    checkHost,
    isAddressAllowed(address) {
      const ip = parseIpLiteral(address);
      if (ip === null) return false;
      return addressListed(ip) || isPublicAddress(ip);
    },
    checkUrl(raw) {
      if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: `the URL is longer than ${MAX_URL_LENGTH} characters` };
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { ok: false, reason: 'not a valid absolute URL' };
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        return { ok: false, reason: `the scheme ${url.protocol.slice(0, 20)} is not allowed; use https` };
      }
      // `https://@host` parses with an empty username, so the raw authority is checked too.
      if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:[\\/]*[^\\/?#]*@/i.test(raw.trim())) {
        return { ok: false, reason: 'a URL may not carry credentials before the host (…@); configure secrets separately' };
      }
      if (url.hash !== '' || raw.includes('#')) return { ok: false, reason: 'a fragment (#…) is not allowed in an outbound URL' };
      const port = portOf(url);
      const host = checkHost(url.hostname, port);
      if (!host.ok) return host;
      if (url.protocol === 'http:' && !isHostAllowed(url.hostname, port)) {
        return { ok: false, reason: 'plain http is allowed only to a host listed in outbound.allow; use https' };
      }
      return { ok: true, url };
    },
  };
}

/** Shows a URL without its userinfo (old records may hold `user:password@`), whether or not it parses. */
export function maskUrlUserinfo(raw: string): string {
  // A scheme is `x:` followed by slashes, or http(s): alone (WHATWG reads `https:user@host` as userinfo too).
  const scheme = /^(?:[^/\\?#@]*?:(?=[/\\])|https?:)[/\\]*/i.exec(raw);
  const start = scheme === null ? 0 : scheme[0].length;
  const rest = raw.slice(start);
  const authority = rest.slice(0, rest.search(/[/\\?#]|$/));
  const at = authority.lastIndexOf('@');
  return at === -1 ? raw : `${raw.slice(0, start)}***${raw.slice(start + at)}`;
}
