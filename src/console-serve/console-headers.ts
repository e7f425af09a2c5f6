/**
 * Headers on every console response. The CSP allows nothing inline: Vite emits only external module scripts and
 * stylesheets, uPlot styles elements through the CSSOM (which `style-src` does not govern) and ships its CSS as a
 * file, and the TOTP QR code is an <img> with a data: SVG (hence `img-src data:`).
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
});

/** Hashed file names change with their content, so they may be cached for a year; index.html never is. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
export const NO_STORE = 'no-store';
