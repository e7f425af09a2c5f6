/**
 * Reads text fields of a multipart/form-data body (audio transcriptions, image edits) so the model scope can be
 * enforced on uploads too. File parts are skipped by searching bytes; only matching parts are decoded.
 */
export function boundaryOf(contentType: string): string | null {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/** Every value of the named field, in order. Callers treat more than one `model` as an attack, not a choice. */
export function multipartFields(body: Buffer, boundary: string, name: string): string[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const values: string[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const headersStart = at + delimiter.length + 2;
    const headersEnd = body.indexOf('\r\n\r\n', headersStart);
    if (headersEnd === -1) break;
    const next = body.indexOf(delimiter, headersEnd + 4);
    if (next === -1) break;
    const headers = body.subarray(headersStart, headersEnd).toString('latin1');
    const disposition = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers);
    // The part's value ends before the CRLF that precedes the next delimiter.
    if (disposition?.[1] === name) values.push(body.subarray(headersEnd + 4, next - 2).toString('utf8'));
    at = next;
  }
  return values;
}
