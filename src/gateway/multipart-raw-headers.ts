import { KeywardenError } from '../errors/index.js';

/**
 * A raw check of every part's header block, before the parser reads the form. Busboy's header parser is lenient in
 * ways another parser upstream may not be: it silently stops at a malformed line (keeping the headers before it),
 * joins folded lines, and drops header lines past its limits. A line the gateway skipped but the upstream reads
 * (say, a second Content-Disposition after a junk line) would name a field the gateway never saw. So every header
 * line must be a plain `Name: value` line, unfolded, and a block stays small.
 *
 * Linear: delimiters are found with Buffer.indexOf, and each header block is searched only within its own part.
 */
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*$/;
const MAX_HEADER_LINES = 16;
const MAX_HEADER_BLOCK = 8192;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

function refuse(message: string): KeywardenError {
  return new KeywardenError('KW_BAD_REQUEST', { message });
}

export function checkRawPartHeaders(body: Buffer, boundary: string): void {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter may come without its CRLF (at the very start of the body).
  const first = body.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? 0 : body.indexOf(delimiter);
  if (first === -1) return; // no form at all: the parser reports it
  let at = first === 0 ? delimiter.length - 2 : first + delimiter.length;
  while (at < body.length) {
    const next = body.indexOf(delimiter, at);
    const end = next === -1 ? body.length : next;
    const part = body.subarray(at, end);
    if (part[0] === 45 && part[1] === 45) return; // `--`: the closing delimiter; what follows is the epilogue
    const lineEnd = part.indexOf('\r\n');
    if (lineEnd === -1) return; // a truncated form: the parser reports it
    // Nothing may follow a delimiter on its line: `--B junk` is another boundary to a strict parser, and even the
    // transport padding RFC 2046 allows is not understood by every parser (busboy's included).
    if (lineEnd !== 0) throw refuse('A multipart delimiter line has trailing data.');
    const headersEnd = part.indexOf(CRLF_CRLF, lineEnd);
    // A part with no blank line has no body: the parser treats its bytes as headers, so check them all.
    const blockEnd = headersEnd === -1 ? part.length : headersEnd;
    if (blockEnd > lineEnd) {
      if (blockEnd - lineEnd > MAX_HEADER_BLOCK) throw refuse('A multipart part has too many header bytes.');
      const lines = part.toString('latin1', lineEnd + 2, blockEnd).split('\r\n');
      if (lines.length > MAX_HEADER_LINES) throw refuse('A multipart part has too many headers.');
      for (const line of lines) {
        if (!HEADER_LINE.test(line)) throw refuse('A multipart part has a malformed or folded header line.');
      }
    }
    if (next === -1) return;
    at = next + delimiter.length;
  }
}
