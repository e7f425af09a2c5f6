import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { GitHubAlertWebhook } from './alert-webhook.js';
import type { GitHubPartnerReceiver } from './partner-receiver.js';

const MAX_REPORT_BYTES = 1024 * 1024;

/**
 * Unauthenticated receivers for leak reports from code hosts, under /leaks. Authentication is the sender's
 * signature over the raw body, checked before anything is parsed or changed.
 */
export function createLeakReceiverApp(github: GitHubPartnerReceiver, webhook?: GitHubAlertWebhook): Hono {
  const app = new Hono().basePath('/leaks');
  const tooLarge = { error: { message: 'The report is too large.', type: 'invalid_request_error', param: null, code: 'request_too_large' } };
  // The unread rest of an oversized body would corrupt a kept-alive connection: the 413 closes it.
  app.post('/github', bodyLimit({ maxSize: MAX_REPORT_BYTES, onError: (c) => c.json(tooLarge, 413, { connection: 'close' }) }), async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    const answer = await github.handle(body, c.req.header('github-public-key-identifier'), c.req.header('github-public-key-signature'));
    return c.json(answer.body, answer.status as 200);
  });
  if (webhook) {
    // The organisation webhook (`secret_scanning_alert`), authenticated by X-Hub-Signature-256 over the raw body.
    app.post('/github/webhook', bodyLimit({ maxSize: MAX_REPORT_BYTES, onError: (c) => c.json(tooLarge, 413, { connection: 'close' }) }), async (c) => {
      const body = Buffer.from(await c.req.arrayBuffer());
      const answer = await webhook.handle(body, {
        signature: c.req.header('x-hub-signature-256'),
        delivery: c.req.header('x-github-delivery'),
        event: c.req.header('x-github-event'),
      });
      return c.json(answer.body, answer.status as 200);
    });
  }
  app.notFound((c) => c.json({ error: { message: 'Unknown route.', type: 'invalid_request_error', param: null, code: 'not_found' } }, 404));
  app.onError((_err, c) => c.json({ error: { message: 'Internal error.', type: 'server_error', param: null, code: 'internal_error' } }, 500));
  return app;
}
