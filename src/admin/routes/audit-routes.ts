import type { Schema } from 'hono';
import { z } from 'zod';
import { formatHeadAnchor, parseHeadAnchor, toExportLine, type AuditLog } from '../../audit/index.js';
import { KeywardenError } from '../../errors/index.js';
import { limitField } from './query-fields.js';
import { parseQuery, type AdminApp } from './route-helpers.js';

const pageQuery = z.object({ cursor: z.coerce.number().int().min(0).optional(), limit: limitField(5_000, 500) }).strict();
const verifyQuery = z.object({ head: z.string().optional() }).strict();

/**
 * The audit log under the admin API: GET /audit (pages in storage order, for export and offline verification),
 * GET /audit/head, GET /audit/verify?head=SEQ:HASH and GET /audit/export (JSON lines).
 */
export function registerAuditRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: { audit: AuditLog }): void {
  app.get('/audit', async (c) => {
    const q = parseQuery(c, pageQuery);
    const page = await deps.audit.page(q.cursor ?? null, q.limit);
    return c.json({ object: 'list', data: page.entries.map(toExportLine), next_cursor: page.next });
  });

  app.get('/audit/head', async (c) => {
    const head = await deps.audit.head();
    const signed = await deps.audit.anchor();
    // The HMAC is published only when the signed anchor is this head: a copy kept elsewhere then proves it too.
    const mac = signed && head && signed.seq === head.seq && signed.hash === head.hash ? signed.mac : null;
    return c.json({ object: 'audit_head', seq: head?.seq ?? 0, hash: head?.hash ?? null, anchor: head ? formatHeadAnchor(head) : null, mac });
  });

  app.get('/audit/verify', async (c) => {
    const q = parseQuery(c, verifyQuery);
    const expectedHead = q.head === undefined ? undefined : parseHeadAnchor(q.head);
    if (expectedHead === null) {
      throw new KeywardenError('KW_VALIDATION', { message: 'head: expected a 64-character hex hash or SEQ:HASH', param: 'head' });
    }
    return c.json({ object: 'audit_verification', ...(await deps.audit.verify({ expectedHead })) });
  });

  app.get('/audit/export', (c) => {
    const entries = deps.audit.entries();
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await entries.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(toExportLine(next.value))}\n`));
      },
      async cancel() {
        await entries.return(undefined);
      },
    });
    return c.body(stream, 200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
  });
}
