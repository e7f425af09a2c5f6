import { StringDecoder } from 'node:string_decoder';
import { normalizeUsage, type MeteredTokens } from './usage-parse.js';

export interface SseRelayOptions {
  /** Drop the usage-only chunk (`choices: []` + usage) that the gateway asked for on the client's behalf. */
  dropInjectedUsageChunk: boolean;
  /** Rewrites an event before it is forwarded (used to scrub upstream key material). */
  scrub: (text: string) => string;
  /** Receives each event as it becomes complete, ready to write to the client. */
  emit: (text: string) => void;
  /** Keep the streamed output text, so a stream cut before its usage chunk can still be metered. */
  trackText: boolean;
}

/**
 * Relays an SSE stream event by event. Each complete event is forwarded as soon as it arrives (no buffering
 * beyond the event in progress), while the relay watches for token usage: the chat/completions usage chunk or the
 * Responses API's `response.completed` event.
 */
export class SseRelay {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private usage: MeteredTokens | null = null;
  /** Content deltas seen, used to estimate tokens when a stream ends without usage. */
  private streamedText = '';

  constructor(private readonly options: SseRelayOptions) {}

  get meteredUsage(): MeteredTokens | null {
    return this.usage;
  }

  /** Text the model streamed so far (content deltas), for settling a cut stream. */
  get outputText(): string {
    return this.streamedText;
  }

  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let boundary = findBoundary(this.pending);
    while (boundary !== null) {
      const event = this.pending.slice(0, boundary.end);
      this.pending = this.pending.slice(boundary.end);
      this.handle(event);
      boundary = findBoundary(this.pending);
    }
  }

  /** Flushes a trailing partial event (a stream that ended without a final blank line). */
  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length > 0) {
      const rest = this.pending;
      this.pending = '';
      this.handle(rest);
    }
  }

  private handle(event: string): void {
    const data = dataOf(event);
    const wanted = data !== null && data !== '[DONE]' && (this.options.trackText || hasUsageObject(data));
    if (wanted && this.inspect(data)) return;
    this.options.emit(this.options.scrub(event));
  }

  /** Returns true when the event must be dropped. */
  private inspect(data: string): boolean {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return false;
    }
    if (this.options.trackText) this.collectText(parsed);
    const usage = normalizeUsage(parsed.usage) ?? normalizeUsage((parsed.response as { usage?: unknown } | undefined)?.usage);
    if (!usage) return false;
    this.usage = usage;
    const choices = parsed.choices;
    return this.options.dropInjectedUsageChunk && Array.isArray(choices) && choices.length === 0;
  }

  private collectText(parsed: Record<string, unknown>): void {
    if (typeof parsed.delta === 'string') {
      this.streamedText += parsed.delta; // Responses API: response.output_text.delta
      return;
    }
    const choices = parsed.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices as Array<Record<string, unknown>>) {
      const delta = choice.delta as Record<string, unknown> | undefined;
      if (delta && typeof delta.content === 'string') this.streamedText += delta.content;
      else if (typeof choice.text === 'string') this.streamedText += choice.text;
    }
  }
}

function findBoundary(text: string): { end: number } | null {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  if (lf === -1 && crlf === -1) return null;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { end: crlf + 4 };
  return { end: lf + 2 };
}

/**
 * True when some `"usage"` key in the event's JSON has an object value, i.e. when parsing the event can yield
 * token counts. With stream_options.include_usage every chunk carries `"usage":null`; testing for the key alone
 * made the relay JSON-parse every event of every stream. An object value always starts with `{` after the colon.
 */
function hasUsageObject(data: string): boolean {
  for (let at = data.indexOf('"usage"'); at !== -1; at = data.indexOf('"usage"', at + 7)) {
    let i = skipSpace(data, at + 7);
    if (data.charCodeAt(i) !== 58 /* : */) continue;
    i = skipSpace(data, i + 1);
    if (data.charCodeAt(i) === 123 /* { */) return true;
  }
  return false;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
  return i;
}

/** The concatenated `data:` lines of one event, or null when it has none (comments, keep-alives). */
function dataOf(event: string): string | null {
  // Fast path for what providers send: one `data:` line, then only line terminators. Same result as below.
  const lf = event.indexOf('\n');
  if (lf !== -1 && event.startsWith('data:') && onlyLineBreaks(event, lf + 1)) {
    const line = event.charCodeAt(lf - 1) === 13 ? event.slice(0, lf - 1) : event.slice(0, lf);
    return line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
  }
  let data: string | null = null;
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}

function onlyLineBreaks(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && c !== 13) return false;
  }
  return true;
}
