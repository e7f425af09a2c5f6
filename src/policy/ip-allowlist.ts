import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses an IP or CIDR; throws with the offending text so config and admin input errors are clear. */
export function parseRange(text: string): Range {
  const trimmed = text.trim();
  try {
    if (trimmed.includes('/')) return ipaddr.parseCIDR(trimmed);
    const address = ipaddr.parse(trimmed);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    throw new Error(`not an IP address or CIDR range: ${JSON.stringify(text)}`);
  }
}

export function isValidRange(text: string): boolean {
  try {
    parseRange(text);
    return true;
  } catch {
    return false;
  }
}

/** IPv4-mapped IPv6 (::ffff:10.0.0.1, as Node reports IPv4 peers on dual-stack sockets) compares as IPv4. */
export function parseClientIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(text)) return null;
  return ipaddr.process(text);
}

export interface IpMatcher {
  allows(ip: string): boolean;
}

export function compileIpAllowlist(ranges: readonly string[]): IpMatcher {
  if (ranges.length === 0) return { allows: () => true };
  const parsed = ranges.map(parseRange);
  return {
    allows(ip) {
      const address = parseClientIp(ip);
      if (!address) return false;
      return parsed.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
    },
  };
}
