// The console is a client of the admin API (/admin/v1) and nothing else. The session cookie is HttpOnly, so the
// only secret the page holds is the CSRF token, kept in memory (never in storage) and sent on every state change.

export interface ApiErrorBody {
  message: string;
  type?: string;
  param?: string | null;
  code?: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
/** Called when the API says the session is gone: the app goes back to sign-in. */
let onSignedOut: (() => void) | null = null;
/** Asks the user for a fresh second factor; resolves true when step-up succeeded. */
let onStepUp: (() => Promise<boolean>) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}
export function setStepUpHandler(handler: () => Promise<boolean>): void {
  onStepUp = handler;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
const BASE = '/admin/v1';

async function readError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: ApiErrorBody };
    const err = body.error;
    if (err && typeof err.message === 'string') return new ApiError(res.status, err.code ?? 'error', err.message, err.param ?? null);
  } catch {
    // not JSON: fall through to a generic message
  }
  return new ApiError(res.status, 'http_error', `The server answered ${res.status}.`);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Do not run the step-up flow on 403 step_up_required (used by the auth endpoints themselves). */
  noStepUp?: boolean;
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (!SAFE_METHODS.has(method) && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  return fetch(BASE + path, { method, headers, body, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
}

/** One admin API call; throws ApiError with the server's code and message on any non-2xx answer. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  let res = await send(path, options);
  if (!res.ok) {
    const error = await readError(res);
    if (error.code === 'step_up_required' && !options.noStepUp && onStepUp) {
      if (await onStepUp()) {
        res = await send(path, options);
        if (res.ok) return parse<T>(res);
        throw await readError(res);
      }
    }
    if ((error.status === 401 || error.code === 'session_expired') && !path.startsWith('/auth/')) onSignedOut?.();
    throw error;
  }
  return parse<T>(res);
}

async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('application/json')) return (await res.json()) as T;
  return (await res.text()) as T;
}

/** A GET whose body is text (CSV, JSON lines) for a download. */
export async function apiText(path: string): Promise<string> {
  const res = await send(path, {});
  if (!res.ok) throw await readError(res);
  return res.text();
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}
