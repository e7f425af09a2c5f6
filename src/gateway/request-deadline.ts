import type { ClientLink } from './forward.js';

/** The wire code recorded (and answered, when nothing was sent yet) for a request cut at its deadline. */
export const DEADLINE_ERROR_CODE = 'request_deadline_exceeded';

/**
 * The optional overall deadline of one request (`server.requestDeadlineMs`). When it passes, the request's upstream
 * exchange is aborted exactly as if the client had left, so a stream that never ends is cut and settled by the
 * same code as any cut stream; `hit` then tells the gateway to report it as a deadline, not as a disconnect.
 * Created only when a deadline is configured, so the default hot path pays nothing.
 */
export class RequestDeadline {
  hit = false;
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number, client: ClientLink) {
    this.timer = setTimeout(() => {
      this.hit = true;
      client.abort();
    }, ms);
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
