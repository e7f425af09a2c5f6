import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { createSinkNetwork, type SinkNetwork } from '../../src/monitor/sinks/sink-network.js';
import { createOutboundPolicy } from '../../src/policy/outbound-url.js';

/** Sinks in these tests deliver to receivers on 127.0.0.1, which the outbound policy allows only when listed. */
export const loopbackSinkNetwork: SinkNetwork = createSinkNetwork(createOutboundPolicy({ allow: ['127.0.0.1'] }));

export interface ReceivedRequest {
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 whose answer to each request is decided by `respond`. */
export async function startReceiver(respond: (request: ReceivedRequest, index: number) => number): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      res.writeHead(respond(request, requests.length - 1), { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T000/B000/not-a-real-secret`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A logger whose output the test can read, to check what is (and is not) logged. */
export function captureLogger(): { logger: Logger; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { logger: createLogger('debug', out), text: () => Buffer.concat(chunks).toString('utf8') };
}
