import { connect, type Socket } from 'node:net';

/**
 * A raw TCP client for attacks the SDK cannot express (slow headers, dripped bodies, idle keep-alives). It records
 * everything received and when the server ended the connection.
 */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Milliseconds from connect until the server closed the connection, or null while it is open. */
  closedAfterMs(): number | null;
  /** Resolves with the ms since connect once the server closes (or rejects after `timeoutMs`). */
  closed(timeoutMs: number): Promise<number>;
  /** Writes unless the connection is gone; returns whether it was written. */
  write(data: string | Buffer): boolean;
  /** Writes one byte every `intervalMs` until the connection closes or `maxBytes` were sent (a bounded drip). */
  drip(intervalMs: number, maxBytes: number): void;
  destroy(): void;
}

export function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    let closedAt: number | null = null;
    let dripTimer: NodeJS.Timeout | null = null;
    const waiters: Array<() => void> = [];
    const socket = connect(Number(port), hostname);
    const markClosed = (): void => {
      if (closedAt !== null) return;
      closedAt = Date.now() - started;
      if (dripTimer) clearInterval(dripTimer);
      for (const w of waiters.splice(0)) w();
    };
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
    });
    // 'end': the server sent FIN (it closed); 'close': the socket is fully gone (FIN or reset).
    socket.on('end', markClosed);
    socket.on('close', markClosed);
    socket.on('error', markClosed);
    socket.once('connect', () => {
      const connection: RawConnection = {
        socket,
        received: () => data,
        closedAfterMs: () => closedAt,
        closed: (timeoutMs) =>
          new Promise((done, fail) => {
            if (closedAt !== null) {
              done(closedAt);
              return;
            }
            const timer = setTimeout(() => fail(new Error(`the server kept the connection open for ${timeoutMs} ms`)), timeoutMs);
            waiters.push(() => {
              clearTimeout(timer);
              done(closedAt as number);
            });
          }),
        write: (chunk) => {
          if (closedAt !== null || socket.destroyed) return false;
          socket.write(chunk);
          return true;
        },
        drip: (intervalMs, maxBytes) => {
          let sent = 0;
          dripTimer = setInterval(() => {
            if (sent++ >= maxBytes || !connection.write('a')) clearInterval(dripTimer as NodeJS.Timeout);
          }, intervalMs);
        },
        destroy: () => {
          if (dripTimer) clearInterval(dripTimer);
          socket.destroy();
        },
      };
      resolve(connection);
    });
    socket.once('error', reject);
  });
}

/** The status code of the first response in a raw HTTP exchange, or null when none arrived. */
export function statusOf(raw: string): number | null {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return match ? Number(match[1]) : null;
}
