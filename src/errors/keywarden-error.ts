import { ERROR_CODES, type ErrorCode } from './codes.js';

export interface KeywardenErrorOptions {
  /** A safe, client-facing message. Never put secrets or internal details here. */
  message?: string;
  /** The request parameter at fault, rendered as OpenAI's `error.param`. */
  param?: string | null;
  /** Extra response headers, e.g. Retry-After for rate limits. */
  headers?: Record<string, string>;
  /** Internal cause, logged (masked) but never sent to a client. */
  cause?: unknown;
}

/** The single error type of the project: a stable code, an HTTP status and a message that is safe to show. */
export class KeywardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly apiCode: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: KeywardenErrorOptions = {}) {
    const spec = ERROR_CODES[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeywardenError';
    this.code = code;
    this.status = spec.status;
    this.type = spec.type;
    this.apiCode = spec.apiCode;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** OpenAI's error JSON, so that SDKs surface our errors as their usual error classes. */
export function toOpenAIError(err: KeywardenError): OpenAIErrorBody {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.apiCode } };
}

/**
 * Turns anything thrown into a KeywardenError. Unknown errors become KW_INTERNAL with the generic message, so
 * internals (stack traces, SQL, file paths, upstream key material) never reach a client.
 */
export function asKeywardenError(err: unknown): KeywardenError {
  if (err instanceof KeywardenError) return err;
  return new KeywardenError('KW_INTERNAL', { cause: err });
}
