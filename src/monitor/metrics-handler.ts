import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MonitorMetrics } from './metrics.js';

/** Node handler for GET /metrics (Prometheus text format). Mount it beside /healthz in the HTTP server. */
export function metricsHandler(metrics: MonitorMetrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  };
}
