/**
 * Removes upstream key material from text that came back from a provider. Exact key strings are replaced
 * everywhere; in error bodies, anything shaped like a provider key (including OpenAI's own `sk-proj-****abcd`
 * echo) is replaced too, because even a partial echo tells the app which upstream key the gateway holds.
 */
const KEYISH = /\b(?:sk|rk)-[A-Za-z0-9_*.-]{3,}|\b[A-Fa-f0-9]{32}\b/g;
export const SCRUBBED = '[upstream key redacted]';

export function createScrubber(secrets: readonly string[]): { any: (text: string) => string; error: (text: string) => string } {
  const exact = secrets.filter((s) => s.length >= 8);
  const replaceExact = (text: string): string => {
    let out = text;
    for (const secret of exact) if (out.includes(secret)) out = out.split(secret).join(SCRUBBED);
    return out;
  };
  return {
    any: replaceExact,
    error: (text) => replaceExact(text).replace(KEYISH, SCRUBBED),
  };
}
