import ipaddr from 'ipaddr.js';

/**
 * The network a client address belongs to, for "first use from a new network": /24 for IPv4, /64 for IPv6
 * (one customer site or one ISP allocation, typically). IPv4-mapped IPv6 counts as IPv4. Null if not an IP.
 */
export function networkOf(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return null;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') {
    const [a, b, c] = (address as ipaddr.IPv4).octets;
    return `${a}.${b}.${c}.0/24`;
  }
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
