import { isUtf8 } from 'node:buffer';
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
  /** Largest single event (in UTF-16 units, about bytes) held while waiting for its end. */
  maxEventBytes: number;
  /**
   * Whole-chunk relaying, for a caller that does not need the events one by one: a chunk made only of complete
   * events, valid UTF-8, that `clean` passes (nothing `scrub` would change) goes to `emit` as the bytes it came as,
   * less any usage event that is dropped. The client gets exactly what the event-by-event path would send.
   */
  wholeChunks?: { clean: (chunk: Buffer) => boolean; emit: (bytes: Buffer) => void } | undefined;
}

const LF = 10;

/**
 * Relays an SSE stream event by event. Each complete event is forwarded as soon as it arrives (no buffering
 * beyond the event in progress), while the relay watches for token usage: the chat/completions usage chunk or the
 * Responses API's `response.completed` event.
 */
export class SseRelay {
  private readonly decoder = new StringDecoder('utf8');
  /**
   * The event in progress, as the pieces that arrived. Kept as a list rather than one growing string: appending
   * and then searching a growing string flattens it on every chunk, which made one large event quadratic.
   */
  private pieces: string[] = [];
  private pendingLength = 0;
  /** The last characters of the event in progress, enough to find a boundary that straddles two chunks. */
  private tail = '';
  private overflowed = false;
  private usage: MeteredTokens | null = null;
  /** Content deltas seen, used to estimate tokens when a stream ends without usage. */
  private streamedText = '';
  /** Nothing is held (no partial event, no partial character): the next chunk starts an event. */
  private atBoundary = true;

  constructor(private readonly options: SseRelayOptions) {}

  get meteredUsage(): MeteredTokens | null {
    return this.usage;
  }

  /** Text the model streamed so far (content deltas), for settling a cut stream. */
  get outputText(): string {
    return this.streamedText;
  }

  /** True once an event grew past `maxEventBytes`: the relay stopped, and the stream must be cut. */
  get tooLarge(): boolean {
    return this.overflowed;
  }

  /**
   * Relays every event this chunk completes. Only the new text is scanned for boundaries (plus the three
   * characters before it, for a `\r\n\r\n` split across chunks), so the cost is linear in the stream's size.
   * Returns false when the event in progress exceeds the size cap: nothing more is buffered or relayed. A chunk
   * that starts and ends on event boundaries may take the whole-chunk path instead (see `wholeChunks`).
   */
  push(chunk: Buffer): boolean {
    if (this.overflowed) return false;
    if (chunk.length === 0) return true;
    if (this.atBoundary && this.relayWhole(chunk)) return true;
    // A chunk ending in LF leaves no partial character in the decoder; no partial event is left when all was relayed.
    this.atBoundary = chunk[chunk.length - 1] === LF;
    if (!this.pushEvents(chunk)) return false;
    this.atBoundary &&= this.pieces.length === 0;
    return true;
  }

  /**
   * The whole-chunk path (see SseRelayOptions.wholeChunks). Only events that may carry a usage object are decoded
   * and looked at, with the same test as the event-by-event path; the rest of the chunk is never turned into text.
   * Returns false, having done nothing, when the chunk needs that path (a partial event, CR framing, bytes to scrub
   * or to repair, text to track).
   */
  private relayWhole(chunk: Buffer): boolean {
    const whole = this.options.wholeChunks;
    const n = chunk.length;
    if (whole === undefined || this.options.trackText || n < 2 || chunk[n - 1] !== LF || chunk[n - 2] !== LF) return false;
    // Searched as a one-byte string: V8's string search is several times cheaper per call than Buffer#indexOf, and
    // latin1 keeps byte offsets, which is all the ASCII patterns below need.
    const bytes = chunk.toString('latin1');
    if (bytes.includes('\r') || !isUtf8(chunk) || !whole.clean(chunk)) return false;
    let candidate = nextUsageCandidate(bytes, 0);
    let keptFrom = 0;
    let start = 0;
    while (candidate !== -1) {
      // The event holding the candidate: boundaries are found left to right, as the event-by-event path does.
      let end = bytes.indexOf('\n\n', start);
      while (end < candidate) {
        start = end + 2;
        end = bytes.indexOf('\n\n', start);
      }
      if (this.dropsAfterReading(chunk.toString('utf8', start, end + 2))) {
        // The events around a dropped one go out as views of the chunk: no copy into a new buffer.
        if (start > keptFrom) whole.emit(chunk.subarray(keptFrom, start));
        keptFrom = end + 2;
      }
      start = end + 2;
      candidate = nextUsageCandidate(bytes, start);
    }
    if (keptFrom === 0) whole.emit(chunk);
    else if (keptFrom < n) whole.emit(chunk.subarray(keptFrom));
    return true;
  }

  private pushEvents(chunk: Buffer): boolean {
    const text = this.decoder.write(chunk);
    if (text === '') return true;
    const probe = this.tail === '' ? text : this.tail + text;
    const shift = probe.length - text.length; // probe offsets minus shift are offsets in `text`
    const boundary = new BoundaryScanner(probe).next(0);
    if (boundary === -1) return this.hold(text, probe);
    // The first event ends in this chunk; it began in the pieces kept so far.
    this.pieces.push(text.slice(0, boundary - shift));
    const first = this.pieces.length === 1 ? (this.pieces[0] as string) : this.pieces.join('');
    this.pieces = [];
    this.pendingLength = 0;
    this.tail = '';
    this.handle(first);
    let start = boundary - shift;
    const scanner = new BoundaryScanner(text);
    for (let end = scanner.next(start); end !== -1; end = scanner.next(start)) {
      this.handle(text.slice(start, end));
      start = end;
    }
    return start === text.length ? true : this.hold(text.slice(start), text.slice(start));
  }

  /** Keeps an unfinished event's text, unless that makes the event too large. */
  private hold(text: string, probe: string): boolean {
    this.pendingLength += text.length;
    if (this.pendingLength > this.options.maxEventBytes) {
      this.overflowed = true;
      this.pieces = [];
      this.tail = '';
      return false;
    }
    this.pieces.push(text);
    this.tail = probe.length > 3 ? probe.slice(-3) : probe;
    return true;
  }

  /** Flushes a trailing partial event (a stream that ended without a final blank line). */
  end(): void {
    if (this.overflowed) return;
    const rest = this.pieces.join('') + this.decoder.end();
    this.pieces = [];
    this.pendingLength = 0;
    this.tail = '';
    if (rest.length > 0) this.handle(rest);
  }

  private handle(event: string): void {
    if (this.dropsAfterReading(event)) return;
    this.options.emit(this.options.scrub(event));
  }

  /** Reads what the event carries (usage, tracked text); true when it must not reach the client. */
  private dropsAfterReading(event: string): boolean {
    const data = sseDataOf(event);
    const wanted = data !== null && data !== '[DONE]' && (this.options.trackText || hasUsageObject(data));
    return wanted && this.inspect(data);
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

/**
 * Finds event boundaries (`\n\n` or `\r\n\r\n`, whichever comes first) in one text, left to right. The next
 * position of each delimiter is remembered, so finding every boundary of a chunk scans it once, however many
 * events it holds.
 */
class BoundaryScanner {
  private lf = -2; // -2: not searched yet; -1: none left
  private crlf = -2;

  constructor(private readonly text: string) {}

  /** End (exclusive) of the first boundary at or after `from`, or -1. */
  next(from: number): number {
    if (this.lf !== -1 && this.lf < from) this.lf = this.text.indexOf('\n\n', from);
    if (this.crlf !== -1 && this.crlf < from) this.crlf = this.text.indexOf('\r\n\r\n', from);
    const { lf, crlf } = this;
    if (crlf !== -1 && (lf === -1 || crlf < lf)) return crlf + 4;
    return lf === -1 ? -1 : lf + 2;
  }
}

/**
 * True when some `"usage"` key in the event's JSON has an object value, i.e. when parsing the event can yield
 * token counts. With stream_options.include_usage every chunk carries `"usage":null`; testing for the key alone
 * made the relay JSON-parse every event of every stream. An object value always starts with `{` after the colon.
 */
function hasUsageObject(data: string): boolean {
  for (let at = usageKeyAt(data, 0); at !== -1; at = usageKeyAt(data, at + 7)) {
    let i = skipSpace(data, at + 7);
    if (data.charCodeAt(i) !== 58 /* : */) continue;
    i = skipSpace(data, i + 1);
    if (data.charCodeAt(i) === 123 /* { */) return true;
  }
  return false;
}

/**
 * The next `"usage"` in the chunk's bytes (as a latin1 string) from `from` that might start a usage object, or -1.
 * Only `"usage"`, spaces or tabs, `:`, spaces or tabs, `null` on one line is passed over: that reads as
 * `"usage":null` in the event's data too, so hasUsageObject would not take it. Anything else (an object, a value on
 * the next line) is a candidate, and the event holding it gets the exact test.
 */
function nextUsageCandidate(bytes: string, from: number): number {
  for (let at = usageKeyAt(bytes, from); at !== -1; at = usageKeyAt(bytes, at + 7)) {
    let i = skipBlanks(bytes, at + 7);
    if (bytes.charCodeAt(i) !== 58 /* : */) return at;
    i = skipBlanks(bytes, i + 1);
    if (!bytes.startsWith('null', i)) return at;
  }
  return -1;
}

function skipBlanks(text: string, from: number): number {
  let i = from;
  for (let c = text.charCodeAt(i); c === 32 || c === 9; c = text.charCodeAt(++i));
  return i;
}

/**
 * The next `"usage"` at or after `from`, or -1. V8 searches a pattern of 7 characters or more with Boyer-Moore-
 * Horspool, building its tables on every call; `usage"` (6) gets the plain scan, several times cheaper per call.
 */
function usageKeyAt(text: string, from: number): number {
  for (let at = text.indexOf('usage"', from + 1); at !== -1; at = text.indexOf('usage"', at + 6)) {
    if (text.charCodeAt(at - 1) === 34 /* " */) return at - 1;
  }
  return -1;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
  return i;
}

/** The concatenated `data:` lines of one event, or null when it has none (comments, keep-alives). */
export function sseDataOf(event: string): string | null {
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
