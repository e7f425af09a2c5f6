import ipaddr from 'ipaddr.js';

/**
 * Which IP addresses an outbound request may reach without an allowlist entry: ordinary public unicast only.
 * Everything ipaddr.js classes as private, loopback, link-local (169.254.169.254 and the other cloud metadata
 * services live there), CGNAT (Alibaba's 100.100.100.200), unique-local (AWS's fd00:ec2::254), multicast,
 * broadcast, unspecified or reserved (192.0.0.192, documentation and benchmarking ranges) is refused.
 */

/** IPv6 forms that carry an IPv4 address: that IPv4 address decides. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const range = address.range();
  const parts = address.parts;
  if (range === 'ipv4Mapped') return address.toIPv4Address();
  if (range === 'rfc6052') {
    // NAT64 64:ff9b::/96: the last 32 bits are the IPv4 destination.
    return ipv4FromWords(parts[6] as number, parts[7] as number);
  }
  if (range === '6to4') {
    // 2002:AABB:CCDD::/48 tunnels to AA.BB.CC.DD.
    return ipv4FromWords(parts[1] as number, parts[2] as number);
  }
  return null;
}

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

const SITE_LOCAL = ipaddr.parseCIDR('fec0::/10');
const NAT64_LOCAL = ipaddr.parseCIDR('64:ff9b:1::/48');

function isPublicIPv6(address: ipaddr.IPv6): boolean {
  const embedded = embeddedIPv4(address);
  if (embedded !== null) return embedded.range() === 'unicast';
  if (address.range() !== 'unicast') return false;
  // ::/96 is the deprecated IPv4-compatible form (::a9fe:a9fe); ipaddr.js calls it unicast, nothing legitimate uses it.
  if (address.parts.slice(0, 6).every((part) => part === 0)) return false;
  return !address.match(SITE_LOCAL) && !address.match(NAT64_LOCAL);
}

/** Parses an IP literal (IPv6 with or without brackets, zone ids refused); null when it is not one. */
export function parseIpLiteral(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  // Only the strict dotted-quad / RFC 4291 forms; the WHATWG URL parser already normalized 0x7f.1 and friends.
  if (bare.includes('%')) return null;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return null;
}

export function isPublicAddress(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return address.kind() === 'ipv4' ? address.range() === 'unicast' : isPublicIPv6(address as ipaddr.IPv6);
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), so allowlist CIDRs match either form. */
export function ipv4Equivalent(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | null {
  return address.kind() === 'ipv4' ? (address as ipaddr.IPv4) : embeddedIPv4(address as ipaddr.IPv6);
}
