/**
 * The one function that turns a secret into something printable: its prefix plus its last 4 characters.
 * Everything that shows a secret (CLI, admin API, logs, scanner reports) goes through here.
 *
 * The prefix is the vendor marker, up to and including the last '-' or '_' within the first 12 characters
 * (`sk-proj-`, `kw_`, `hf_`), else the first 4 characters. Short strings reveal nothing.
 */
export function maskSecret(secret: string): string {
  if (secret.length < 16) return '****';
  const head = secret.slice(0, 12);
  const cut = Math.max(head.lastIndexOf('-'), head.lastIndexOf('_'));
  const prefix = cut >= 1 ? secret.slice(0, cut + 1) : secret.slice(0, 4);
  return `${prefix}…${secret.slice(-4)}`;
}
