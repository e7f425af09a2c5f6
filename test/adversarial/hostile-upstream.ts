import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small upstream on 127.0.0.1 that misbehaves on purpose: each test installs the answer it wants (echo the key
 * in headers or escaped in bodies, gzip, split SSE frames at chosen offsets, bodies of a gigabyte, events with no
 * end). It records what it received so tests can check what the gateway sent.
 */
export interface HostileRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type HostileHandler = (req: HostileRequest, res: ServerResponse) => void | Promise<void>;

export interface HostileUpstream {
  /** Base URL for the admin API, e.g. http://127.0.0.1:1234/v1 */
  url: string;
  requests: HostileRequest[];
  handle(handler: HostileHandler): void;
  close(): Promise<void>;
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  let handler: HostileHandler = (_req, res) => {
    res.writeHead(500).end();
  };
  const requests: HostileRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(record);
      Promise.resolve(handler(record, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    handle(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `total` bytes made of `chunk` repeated, honouring backpressure, then ends (unless told not to). */
export async function writeRepeated(res: ServerResponse, chunk: Buffer, total: number, end = true): Promise<void> {
  let sent = 0;
  while (sent < total && !res.destroyed) {
    const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
    sent += piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (end && !res.destroyed) res.end();
}

/** Every way a client could decode a key back out of a body: raw, JSON escapes, percent-encoding, HTML references. */
export function decodedForms(text: string): string[] {
  const json = text.replace(/\\u([0-9a-fA-F]{4})/g, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))).replace(/\\\//g, '/');
  const percent = (s: string): string => s.replace(/%([0-9a-fA-F]{2})/g, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const html = (s: string): string =>
    s
      .replace(/&#x([0-9a-fA-F]{1,7});/g, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
      .replace(/&#([0-9]{1,7});/g, (_all, dec: string) => String.fromCharCode(Number.parseInt(dec, 10)))
      .replace(/\\x([0-9a-fA-F]{2})/g, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return [text, json, percent(text), percent(json), html(text), html(json)];
}
