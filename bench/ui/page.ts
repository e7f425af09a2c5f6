// Console page load in headless Chromium: from navigation to the overview's data on screen. Sign-in goes through
// the console's own API (first-run setup link → password → TOTP enrolment, the code computed with otpauth), never
// through an admin token, which the console does not accept.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as OTPAuth from 'otpauth';
import { chromium } from 'playwright-core';
import { median, percentile } from '../gateway/stats.js';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the overview screen sets once the stats/overview answer is rendered (agreed with h-cui). */
export const READY_SELECTOR = '[data-ready="overview"]';

export interface PageTiming {
  reps: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

interface Session {
  cookie: { name: string; value: string };
  csrf: string;
}

const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

function sessionCookie(res: Response, previous?: Session['cookie']): Session['cookie'] {
  const header = res.headers.getSetCookie().find((c) => /^(__Host-)?kw_session=/.test(c));
  if (!header) {
    if (previous) return previous;
    throw new Error('no session cookie in the answer');
  }
  const [pair = ''] = header.split(';');
  const at = pair.indexOf('=');
  return { name: pair.slice(0, at), value: pair.slice(at + 1) };
}

async function authPost(origin: string, route: string, body: unknown, session?: Session): Promise<{ res: Response; json: Record<string, unknown> }> {
  const res = await fetch(`${origin}/admin/v1/auth${route}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin,
      ...(session ? { cookie: `${session.cookie.name}=${session.cookie.value}`, 'x-csrf-token': session.csrf } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`POST /auth${route}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return { res, json };
}

/** First owner from the setup link, TOTP enrolled: a signed-in session cookie. */
export async function signInWithSetupLink(origin: string, setupToken: string): Promise<Session['cookie']> {
  const password = randomBytes(18).toString('base64url');
  const setup = await authPost(origin, '/setup', { token: setupToken, name: 'bench-owner', password });
  let session: Session = { cookie: sessionCookie(setup.res), csrf: text(setup.json.csrf_token, '') };
  const start = await authPost(origin, '/totp/enroll/start', {}, session);
  const totp = OTPAuth.URI.parse(String(start.json.otpauth_url));
  if (!(totp instanceof OTPAuth.TOTP)) throw new Error('enrolment did not return a TOTP URI');
  const finish = await authPost(origin, '/totp/enroll/finish', { code: totp.generate() }, session);
  session = { cookie: sessionCookie(finish.res, session.cookie), csrf: text(finish.json.csrf_token, session.csrf) };
  if (finish.json.state !== 'signed_in') throw new Error(`after TOTP enrolment the state is ${String(finish.json.state)}`);
  return session.cookie;
}

/** Loads `/` `reps` times, each in a fresh browser context (cold cache, as a first visit), after one warm-up. */
export async function timePageLoad(origin: string, cookie: Session['cookie'], reps: number): Promise<PageTiming> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  try {
    const samples: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const context = await browser.newContext();
      try {
        await context.addCookies([{ ...cookie, url: origin }]);
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(`${origin}/`, { waitUntil: 'commit' });
        await page.waitForSelector(READY_SELECTOR, { timeout: 15_000 });
        if (i > 0) samples.push(performance.now() - started);
      } finally {
        await context.close();
      }
    }
    const round = (n: number): number => Math.round(n * 10) / 10;
    return { reps, medianMs: round(median(samples)), p95Ms: round(percentile(samples, 95)), maxMs: round(Math.max(...samples)) };
  } finally {
    await browser.close();
  }
}
