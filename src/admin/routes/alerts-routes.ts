import type { Schema } from 'hono';
import { z } from 'zod';
import type { AuditLog } from '../../audit/index.js';
import { KeywardenError } from '../../errors/index.js';
import { alertView, deliveryView } from '../../monitor/alert-view.js';
import type { AlertRepository } from '../../monitor/repositories.js';
import { DETECTORS } from '../../monitor/types.js';
import type { KeyService } from '../key-service.js';
import type { NameLookup } from '../name-lookup.js';
import type { ProjectLookup } from '../project-lookup.js';
import { limitField, timeField } from './query-fields.js';
import { adminActor, parseQuery, pathParam, type AdminApp } from './route-helpers.js';

export interface AlertRouteDeps {
  alerts: AlertRepository;
  audit: AuditLog;
  now: () => number;
  /** Key names shown beside ids (key_name); without it key_name is null. */
  names?: () => Promise<NameLookup>;
  /** Resolves key_id given as a name; without it key_id must be an id. */
  keys?: Pick<KeyService, 'get'>;
  /** Projects of alerts (project_id, project_name, and the `project` filter); without it they are null. */
  projects?: () => Promise<ProjectLookup>;
}

const listQuery = z
  .object({
    since: timeField,
    until: timeField,
    detector: z.enum(DETECTORS).optional(),
    key_id: z.string().min(1).optional(),
    /** Only alerts about this project (id or name): its own budget alerts and those of its keys. */
    project: z.string().min(1).max(200).optional(),
    status: z.enum(['open', 'acknowledged', 'all']).default('all'),
    limit: limitField(1_000, 100),
  })
  .strict();

const deliveryQuery = z
  .object({ status: z.enum(['pending', 'delivered', 'failed']).optional(), alert_id: z.string().optional(), limit: limitField(1_000, 100) })
  .strict();

/**
 * Alerts under the admin API: GET /alerts, GET /alerts/deliveries, GET /alerts/:id (with its deliveries) and
 * POST /alerts/:id/ack (written to the audit log in the same transaction).
 */
export function registerAlertRoutes<S extends Schema, B extends string>(app: AdminApp<S, B>, deps: AlertRouteDeps): void {
  app.get('/alerts', async (c) => {
    const q = parseQuery(c, listQuery);
    const keyId = q.key_id !== undefined && deps.keys ? (await deps.keys.get(q.key_id)).id : q.key_id;
    const projects = deps.projects ? await deps.projects() : null;
    const projectId = q.project === undefined ? undefined : projects?.resolve(q.project);
    if (projectId === null) throw new KeywardenError('KW_NOT_FOUND', { message: `No project with id or name "${q.project ?? ''}".` });
    const alerts = await deps.alerts.list({
      since: q.since,
      until: q.until,
      detector: q.detector,
      keyId,
      acknowledged: q.status === 'all' ? undefined : q.status === 'acknowledged',
      // Filtered by project below (alerts store key ids, not projects): look further back, then cut to the limit.
      limit: projectId === undefined ? q.limit : 1_000,
    });
    const names = deps.names ? await deps.names() : null;
    const view = (a: (typeof alerts)[number]) => {
      const project = projects?.ofAlert(a) ?? null;
      return { ...alertView(a), key_name: names?.key(a.keyId) ?? null, project_id: project, project_name: projects?.name(project) ?? null };
    };
    const data = alerts.map(view).filter((a) => projectId === undefined || a.project_id === projectId);
    return c.json({ object: 'list', data: data.slice(0, q.limit) });
  });

  app.get('/alerts/deliveries', async (c) => {
    const q = parseQuery(c, deliveryQuery);
    const deliveries = await deps.alerts.listDeliveries({ status: q.status, alertId: q.alert_id, limit: q.limit });
    return c.json({ object: 'list', data: deliveries.map(deliveryView) });
  });

  app.get('/alerts/:id', async (c) => {
    const alert = await deps.alerts.get(pathParam(c, 'id'));
    if (!alert) throw new KeywardenError('KW_NOT_FOUND', { message: 'No such alert.' });
    const deliveries = await deps.alerts.listDeliveries({ alertId: alert.id, limit: 100 });
    const names = deps.names ? await deps.names() : null;
    const projects = deps.projects ? await deps.projects() : null;
    const project = projects?.ofAlert(alert) ?? null;
    return c.json({ ...alertView(alert), key_name: names?.key(alert.keyId) ?? null, project_id: project, project_name: projects?.name(project) ?? null, deliveries: deliveries.map(deliveryView) });
  });

  app.post('/alerts/:id/ack', async (c) => {
    const id = pathParam(c, 'id');
    const current = await deps.alerts.get(id);
    if (!current) throw new KeywardenError('KW_NOT_FOUND', { message: 'No such alert.' });
    if (current.acknowledgedAt !== null) return c.json(alertView(current));
    const actor = adminActor(c);
    const acked = await deps.audit.withAudit(
      async () => (await deps.alerts.acknowledge(id, actor, deps.now())) ?? current,
      (alert) => ({ actor, action: 'alert.acknowledged', target: `alert:${id}`, after: { detector: alert.detector, subject: alert.subject } }),
    );
    return c.json(alertView(acked));
  });
}
