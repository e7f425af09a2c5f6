// The floor: the least a Node proxy in front of the upstream can do. A node:http server and one undici Pool with
// the gateway's pool settings; per request it swaps the Authorization header for the upstream key and streams the
// body both ways (no buffering, no parsing). The benchmark runs it as one more target, pinned to the gateway's
// core, so keywarden's cost is read against what Node's HTTP machinery alone costs in the same run.
//
//   node bench/gateway/floor.ts --upstream http://127.0.0.1:PORT --key sk-… [--port 0]
//   (prints `floor listening on http://127.0.0.1:PORT` once ready; stops on SIGTERM/SIGINT)
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';

/** The gateway's pool settings (src/gateway/upstream-registry.ts with the default config), so both pay the same. */
export const FLOOR_POOL_OPTIONS = {
  connections: 128,
  headersTimeout: 600_000,
  bodyTimeout: 600_000,
  keepAliveTimeout: 30_000,
  pipelining: 1,
} as const;

/** Hop-by-hop headers (RFC 9110 §7.6.1): undici refuses some of them on a request, and none may be relayed. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

export interface FloorProxy {
  readonly origin: string;
  close(): Promise<void>;
}

function requestHeaders(incoming: IncomingHttpHeaders, authorization: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  out.authorization = authorization;
  return out;
}

function responseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Relays one upstream response to the client as it arrives, pausing the upstream while the client is full. */
class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.res.once('close', () => {
      if (!this.res.writableFinished) controller.abort(new Error('client went away'));
    });
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return;
    this.res.writeHead(statusCode, responseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.res.headersSent) {
      this.res.destroy(err);
      return;
    }
    this.res.writeHead(502, { 'content-type': 'application/json' });
    this.res.end('{"error":{"message":"upstream failed","type":"server_error","param":null,"code":null}}');
  }
}

export async function startFloorProxy(options: { upstream: string; key: string; port?: number; host?: string }): Promise<FloorProxy> {
  const upstream = new URL(options.upstream);
  const pool = new Pool(upstream.origin, FLOOR_POOL_OPTIONS);
  const authorization = `Bearer ${options.key}`;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    pool.dispatch(
      { method, path: req.url ?? '/', headers: requestHeaders(req.headers, authorization), body: hasBody ? req : null },
      new Relay(res),
    );
  };
  const server: Server = createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${options.host ?? '127.0.0.1'}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { upstream: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } } });
  if (values.upstream === undefined || values.key === undefined) throw new Error('usage: floor.ts --upstream URL --key KEY [--port N]');
  const floor = await startFloorProxy({ upstream: values.upstream, key: values.key, port: Number(values.port) });
  process.stdout.write(`floor listening on ${floor.origin}\n`);
  const stop = (): void => void floor.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`floor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
