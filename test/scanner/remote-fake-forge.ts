import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the GitHub and GitLab REST APIs plus git's smart HTTP (through `git http-backend`, as a
 * real forge serves it), on 127.0.0.1 only. Routes are plain data: each API path maps to a list of pages, each
 * page to a JSON body and extra headers, so a test can script pagination, rate limits and hostile answers.
 */
export interface ApiAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** JSON body; a string is sent raw (for malformed answers). */
  body: unknown;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
}

export interface FakeForge {
  origin: string;
  port: number;
  requests: RecordedRequest[];
  /** Answers by request URL (path + query). A list is served in order, the last one repeated. */
  routes: Map<string, ApiAnswer | ApiAnswer[] | ((req: http.IncomingMessage, res: http.ServerResponse) => void)>;
  /** Basic credentials git must present (`user:token`); unset: git needs none. */
  gitCredentials?: string;
  close(): Promise<void>;
}

/** Runs `git http-backend` as CGI for one request under `projectRoot`. */
function serveGit(req: http.IncomingMessage, res: http.ServerResponse, projectRoot: string, pathInfo: string, query: string): void {
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_USER: 'tester',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf('\r\n\r\n');
    let sep = 4;
    if (end === -1) {
      end = head.indexOf('\n\n');
      sep = 2;
    }
    if (end === -1) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + sep));
  });
  child.on('close', () => res.end());
}

export async function startFakeForge(projectRoot: string): Promise<FakeForge> {
  const routes: FakeForge['routes'] = new Map();
  const requests: RecordedRequest[] = [];
  const served = new Map<string, number>();
  const forge: FakeForge = { origin: '', port: 0, requests, routes, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', url, headers: req.headers, at: Date.now() });
    if (url.startsWith('/git/')) {
      if (forge.gitCredentials !== undefined) {
        const expected = `Basic ${Buffer.from(forge.gitCredentials).toString('base64')}`;
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
          return;
        }
      }
      const [pathname = '', query = ''] = url.slice(4).split('?');
      serveGit(req, res, projectRoot, decodeURIComponent(pathname), query);
      return;
    }
    const route = routes.get(url);
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    if (typeof route === 'function') return route(req, res);
    const count = served.get(url) ?? 0;
    served.set(url, count + 1);
    const answer = Array.isArray(route) ? (route[Math.min(count, route.length - 1)] as ApiAnswer) : route;
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  forge.port = port;
  forge.origin = `http://127.0.0.1:${port}`;
  forge.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return forge;
}
