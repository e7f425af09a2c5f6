// A judge placed between the gateway and the fake upstream: it calls `onArrival` the moment each request reaches
// it (before passing the request on), so a test can look at the gateway's files as the upstream would see them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamFront {
  /** The base URL to register as the upstream (the fake's path included). */
  url: string;
  close(): Promise<void>;
}

export async function startUpstreamFront(upstreamUrl: string, onArrival: () => void): Promise<UpstreamFront> {
  const target = new URL(upstreamUrl);
  const front = http.createServer((req, res) => {
    onArrival();
    const onward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    onward.on('error', () => res.destroy());
    req.pipe(onward);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}${target.pathname.replace(/\/$/, '')}`,
    close: () => new Promise<void>((resolve) => front.close(() => resolve())),
  };
}
