/**
 * Vendor prefixes shown in masked output. Longest first, so `sk-proj-` wins over `sk-`. A list rather than a
 * heuristic: random key bodies contain `-` and `_` too, and a heuristic would reveal part of the body.
 */
const KNOWN_PREFIXES = [
  'sk-ant-admin01-',
  'sk-ant-api03-',
  'sk-svcacct-',
  'sk-or-v1-',
  'sk-admin-',
  'sk-proj-',
  'api_org_',
  'tgp_v1_',
  'kwadm_',
  'nvapi-',
  'pplx-',
  'gsk_',
  'csk-',
  'xai-',
  'AIza',
  'sk-',
  'kw_',
  'hf_',
  'r8_',
  'fw_',
];

/**
 * The one function that turns a secret into something printable: its vendor prefix (or first 4 characters)
 * plus its last 4 characters. Everything that shows a secret (CLI, admin API, logs, scanner reports) goes
 * through here. Short strings reveal nothing.
 */
export function maskSecret(secret: string): string {
  if (secret.length < 16) return '****';
  const prefix = KNOWN_PREFIXES.find((p) => secret.startsWith(p)) ?? secret.slice(0, 4);
  return `${prefix}…${secret.slice(-4)}`;
}
