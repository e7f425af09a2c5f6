// Just enough multipart/form-data parsing to record what an upload carried (fields, file names, sizes),
// so tests can assert what the gateway forwarded for image edits, transcriptions and file uploads.

export interface MultipartFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface MultipartBody {
  /** Text fields; a repeated field keeps its last value (all values are in `allFields`). */
  fields: Record<string, string>;
  allFields: Array<[string, string]>;
  files: MultipartFile[];
}

const CRLF2 = Buffer.from('\r\n\r\n');

export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !contentType.toLowerCase().startsWith('multipart/form-data')) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2]?.trim();
}

function headerParam(header: string, name: string): string | undefined {
  const match = new RegExp(`${name}="([^"]*)"`, 'i').exec(header) ?? new RegExp(`${name}=([^;\\s]+)`, 'i').exec(header);
  return match?.[1];
}

/** Returns undefined when the body is not well-formed multipart, so the caller can answer 400. */
export function parseMultipart(body: Buffer, boundary: string): MultipartBody | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const result: MultipartBody = { fields: {}, allFields: [], files: [] };
  let start = body.indexOf(delimiter);
  if (start < 0) return undefined;
  for (;;) {
    const partStart = start + delimiter.length;
    // `--boundary--` closes the body.
    if (body[partStart] === 0x2d && body[partStart + 1] === 0x2d) return result;
    const next = body.indexOf(delimiter, partStart);
    if (next < 0) return undefined;
    // Each part is CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(partStart + 2, next - 2);
    const headerEnd = part.indexOf(CRLF2);
    if (headerEnd < 0) return undefined;
    const headers = part.subarray(0, headerEnd).toString('latin1');
    const content = part.subarray(headerEnd + 4);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = headerParam(disposition, 'name');
    if (name === undefined) return undefined;
    const filename = headerParam(disposition, 'filename');
    if (filename === undefined) {
      const value = content.toString('utf8');
      result.fields[name] = value;
      result.allFields.push([name, value]);
    } else {
      const contentType = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
      result.files.push({ field: name, filename, contentType, data: Buffer.from(content) });
    }
    start = next;
  }
}
