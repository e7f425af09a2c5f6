import type { WebSocket } from 'ws';

/** What a refused WebSocket handshake answered: its HTTP status and body. Rejects if the session opens instead. */
export function handshakeRefusal(ws: WebSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the session was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // A refused handshake also emits `error`; without a listener ws would throw it.
    ws.on('error', () => undefined);
  });
}

/** The first message of an accepted session, as text. Rejects if the handshake is refused. */
export function firstMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(data.toString()));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
  });
}
