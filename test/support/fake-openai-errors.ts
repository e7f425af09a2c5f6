// OpenAI's error bodies, word for word where we know them, so the gateway's error handling and key
// scrubbing are tested against what production actually sends.
import type { FakeBehavior, Reply } from './fake-openai-types.js';

export interface OpenAIErrorFields {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export const API_KEYS_URL = 'https://platform.openai.com/account/api-keys';

const DEFAULTS: Record<number, Omit<OpenAIErrorFields, 'param'>> = {
  400: { message: "Invalid value for 'model'.", type: 'invalid_request_error', code: 'invalid_value' },
  401: {
    message: `Incorrect API key provided: {masked_key}. You can find your API key at ${API_KEYS_URL}.`,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: {
    message: 'Country, region, or territory not supported',
    type: 'request_forbidden',
    code: 'unsupported_country_region_territory',
  },
  404: {
    message: 'The model `gpt-fake` does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  429: {
    message:
      'Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, ' +
      'Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message:
      'The server had an error while processing your request. Sorry about that! You can retry your request, or ' +
      'contact us through our help center at help.openai.com if the error persists.',
    type: 'server_error',
    code: null,
  },
  503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
};

export function errorBody(fields: OpenAIErrorFields): string {
  return JSON.stringify({ error: fields });
}

export function errorReply(status: number, fields: OpenAIErrorFields, headers?: readonly string[]): Reply {
  return headers === undefined
    ? { kind: 'json', status, body: errorBody(fields) }
    : { kind: 'json', status, body: errorBody(fields), headers };
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): Reply {
  return errorReply(400, { message, type: 'invalid_request_error', param, code });
}

/**
 * OpenAI's own masking: the first 8 characters, one `*` per hidden character, the last 4
 * (`sk-proj-****…abcd`). Short keys keep only their first 2 characters.
 */
export function maskKey(key: string): string {
  if (key.length < 12) return `${key.slice(0, 2)}***`;
  return `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
}

function fillKey(message: string, key: string | undefined): string {
  const presented = key ?? '';
  return message.replaceAll('{masked_key}', maskKey(presented)).replaceAll('{key}', presented);
}

/** The reply for an `error` behavior: OpenAI's default body for the status, with any overrides. */
export function behaviorErrorReply(behavior: Extract<FakeBehavior, { type: 'error' }>, key: string | undefined): Reply {
  const base = DEFAULTS[behavior.status] ?? DEFAULTS[behavior.status >= 500 ? 500 : 400];
  const headers: string[] = [];
  for (const [name, value] of Object.entries(behavior.headers ?? {})) headers.push(name, value);
  return errorReply(
    behavior.status,
    {
      message: fillKey(behavior.message ?? base?.message ?? 'Error', key),
      type: behavior.errorType ?? base?.type ?? 'invalid_request_error',
      param: behavior.param ?? null,
      code: behavior.code === undefined ? (base?.code ?? null) : behavior.code,
    },
    headers,
  );
}

export function missingKeyReply(): Reply {
  return errorReply(401, {
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer " +
      'auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re ' +
      'accessing the API from your browser and are prompted for a username. You can obtain an API key from ' +
      `${API_KEYS_URL}.`,
    type: 'invalid_request_error',
    param: null,
    code: null,
  });
}

/** 401 for a wrong key; `full` echoes the whole key so tests can prove the gateway scrubs it. */
export function wrongKeyReply(key: string, echo: 'masked' | 'full', azure: boolean): Reply {
  const shown = echo === 'full' ? key : maskKey(key);
  if (azure) {
    // Azure's body has no type/param and a string code; it never echoes the key unless we ask it to.
    const message =
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for ' +
      'an active subscription and use a correct regional API endpoint for your resource.';
    const body = { error: { code: '401', message: echo === 'full' ? `${message} Key: ${key}` : message } };
    return { kind: 'json', status: 401, body: JSON.stringify(body) };
  }
  return errorReply(401, {
    message: `Incorrect API key provided: ${shown}. You can find your API key at ${API_KEYS_URL}.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  });
}

export function invalidUrlReply(method: string, path: string): Reply {
  return errorReply(404, {
    message: `Invalid URL (${method} ${path})`,
    type: 'invalid_request_error',
    param: null,
    code: null,
  });
}

export function modelNotFoundReply(model: string): Reply {
  return errorReply(404, {
    message: `The model '${model}' does not exist`,
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
  });
}

/** A Cloudflare-style block page: HTML where the client expects JSON. */
export function htmlPageReply(status: number): Reply {
  const body =
    '<!DOCTYPE html>\n<html lang="en-US">\n<head><title>Attention Required! | Cloudflare</title>' +
    '<meta charset="UTF-8"></head>\n<body><div id="cf-wrapper"><h1>Sorry, you have been blocked</h1>' +
    '<h2>You are unable to access api.openai.com</h2><p>This website is using a security service to protect ' +
    'itself from online attacks.</p><p>Cloudflare Ray ID: <strong>8f0fa4e1c9d2a7b3</strong></p></div></body>\n</html>\n';
  return { kind: 'bytes', status, contentType: 'text/html; charset=UTF-8', body };
}
