/**
 * The one money formatter for people (alerts, CLI tables, error messages). Amounts under a dollar keep two
 * significant digits, so a $0.01 budget never reads "$0.00": `$0.0042`, `$0.01`, `$0.50`, `$12.34`.
 */
export function formatUsd(amount: number): string {
  if (!Number.isFinite(amount)) return `$${String(amount)}`;
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  if (abs === 0) return '$0.00';
  if (abs >= 1) return `${sign}$${abs.toFixed(2)}`;
  // Two significant digits, at least two decimals, at most ten (below that the amount is noise).
  const decimals = Math.min(10, Math.max(2, 1 - Math.floor(Math.log10(abs))));
  let text = abs.toFixed(decimals);
  // "0.010" → "0.01", but never fewer than two decimals.
  while (text.endsWith('0') && text.length - text.indexOf('.') - 1 > 2) text = text.slice(0, -1);
  if (Number(text) === 0) return `${sign}<$0.0000000001`;
  return `${sign}$${text}`;
}
