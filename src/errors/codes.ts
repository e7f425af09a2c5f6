/**
 * The one registry of stable error codes. Each entry says how the error is rendered: HTTP status, OpenAI error
 * `type` and the wire `code` that SDKs expose as `error.code`. Changing a wire code is a breaking change.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly type: string;
  readonly apiCode: string;
  readonly message: string;
}

const spec = (status: number, type: string, apiCode: string, message: string): ErrorSpec => ({
  status,
  type,
  apiCode,
  message,
});

export const ERROR_CODES = {
  KW_INVALID_API_KEY: spec(401, 'invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'),
  KW_MISSING_API_KEY: spec(
    401,
    'invalid_request_error',
    'missing_api_key',
    'You did not provide an API key. Send it as "Authorization: Bearer kw_...".',
  ),
  KW_KEY_REVOKED: spec(401, 'invalid_request_error', 'key_revoked', 'This API key has been revoked.'),
  KW_KEY_EXPIRED: spec(401, 'invalid_request_error', 'key_expired', 'This API key has expired.'),
  KW_KEY_SUSPENDED: spec(403, 'permission_error', 'key_suspended', 'This API key is suspended.'),
  KW_MODEL_NOT_ALLOWED: spec(403, 'permission_error', 'model_not_allowed', 'This key may not use this model.'),
  KW_ENDPOINT_NOT_ALLOWED: spec(
    403,
    'permission_error',
    'endpoint_not_allowed',
    'This key may not use this endpoint.',
  ),
  KW_IP_NOT_ALLOWED: spec(403, 'permission_error', 'ip_not_allowed', 'Requests from this IP address are not allowed.'),
  KW_BODY_TOO_LARGE: spec(413, 'invalid_request_error', 'request_too_large', 'The request body is too large.'),
  KW_REQUEST_TIMEOUT: spec(408, 'invalid_request_error', 'request_timeout', 'The request body did not arrive in time.'),
  KW_REQUEST_DEADLINE: spec(504, 'server_error', 'request_deadline_exceeded', 'The request exceeded its overall deadline.'),
  KW_BAD_REQUEST: spec(400, 'invalid_request_error', 'invalid_request', 'The request is malformed.'),
  KW_INVALID_JSON: spec(400, 'invalid_request_error', 'invalid_json', 'The request body is not valid JSON.'),
  KW_MODEL_REQUIRED: spec(400, 'invalid_request_error', 'model_required', 'The request must name a model.'),
  KW_NOT_FOUND: spec(404, 'invalid_request_error', 'not_found', 'Unknown route.'),
  KW_METHOD_NOT_ALLOWED: spec(405, 'invalid_request_error', 'method_not_allowed', 'Method not allowed.'),
  KW_NO_UPSTREAM: spec(503, 'server_error', 'no_upstream', 'No upstream provider is configured for this key.'),
  KW_UPSTREAM_UNAVAILABLE: spec(502, 'server_error', 'upstream_unavailable', 'The upstream provider could not be reached.'),
  KW_UPSTREAM_MISCONFIGURED: spec(
    503,
    'server_error',
    'upstream_misconfigured',
    'The upstream provider for this key is misconfigured; the operator has been told.',
  ),
  KW_UPSTREAM_TIMEOUT: spec(504, 'server_error', 'upstream_timeout', 'The upstream provider did not answer in time.'),
  /** The shared limits backend (Redis) cannot be reached; limited keys are refused rather than admitted unchecked. */
  KW_LIMITS_UNAVAILABLE: spec(503, 'server_error', 'limits_unavailable', 'Rate limits and budgets cannot be checked right now; try again shortly.'),
  KW_RATE_LIMITED: spec(429, 'rate_limit_error', 'rate_limit_exceeded', 'Rate limit exceeded.'),
  KW_BUDGET_EXCEEDED: spec(429, 'insufficient_quota', 'budget_exceeded', 'Budget exceeded.'),
  /** A canary key's answer: OpenAI's own spent-quota refusal, word for word, so its user learns nothing. */
  KW_CANARY_QUOTA: spec(
    429,
    'insufficient_quota',
    'insufficient_quota',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  ),
  KW_CONCURRENCY_LIMITED: spec(
    429,
    'rate_limit_error',
    'concurrency_limit_exceeded',
    'Too many concurrent requests for this key.',
  ),
  KW_OUTPUT_CAP_REQUIRED: spec(
    400,
    'invalid_request_error',
    'max_tokens_required',
    'This key requires max_tokens (or max_completion_tokens / max_output_tokens) on every request.',
  ),
  KW_OUTPUT_CAP_EXCEEDED: spec(
    400,
    'invalid_request_error',
    'max_tokens_exceeded',
    'The requested output cap exceeds the maximum this key allows per request.',
  ),
  KW_PRICE_UNKNOWN: spec(
    403,
    'permission_error',
    'cost_not_bounded',
    'This key has a budget, and the cost of this request cannot be bounded in advance.',
  ),
  KW_ADMIN_UNAUTHORIZED: spec(401, 'invalid_request_error', 'invalid_admin_token', 'Invalid or missing admin token.'),
  KW_VALIDATION: spec(400, 'invalid_request_error', 'validation_failed', 'The input is invalid.'),
  KW_CONFLICT: spec(409, 'invalid_request_error', 'conflict', 'The resource already exists.'),
  KW_AUDIT_UNAVAILABLE: spec(
    503,
    'server_error',
    'audit_unavailable',
    'The audit log could not be written, so the action was not performed.',
  ),
  /** An alert sink failed in a way worth retrying (network error, timeout, 5xx, 429). */
  KW_ALERT_DELIVERY_FAILED: spec(502, 'server_error', 'alert_delivery_failed', 'The alert could not be delivered.'),
  /** An alert sink refused the alert for good (e.g. 4xx other than 408/429); retrying will not help. */
  KW_ALERT_DELIVERY_REJECTED: spec(502, 'server_error', 'alert_delivery_rejected', 'The alert sink rejected the alert.'),
  KW_PROVIDER_NOT_CONNECTED: spec(409, 'invalid_request_error', 'provider_not_connected', 'No provider admin key is connected; run `keywarden providers connect openai`.'),
  KW_PROVIDER_FAILED: spec(502, 'server_error', 'provider_admin_failed', 'The provider admin API request failed.'),
  KW_CONFIG_INVALID: spec(500, 'server_error', 'config_invalid', 'The configuration is invalid.'),
  KW_VAULT: spec(500, 'server_error', 'vault_error', 'The vault could not be opened.'),
  KW_DATA_DIR_LOCKED: spec(503, 'server_error', 'data_dir_locked', 'The data directory is in use by another keywarden process.'),
  KW_WEAK_ADMIN_TOKEN: spec(400, 'invalid_request_error', 'weak_admin_token', 'The admin token is too weak.'),
  KW_ADMIN_FORBIDDEN: spec(403, 'permission_error', 'admin_role_forbidden', 'This admin token\'s role does not allow this action.'),
  // Console sign-in (console-auth/).
  KW_INVALID_CREDENTIALS: spec(401, 'invalid_request_error', 'invalid_credentials', 'The user name or password is incorrect.'),
  KW_MFA_REQUIRED: spec(401, 'invalid_request_error', 'mfa_required', 'Sign-in is not complete: confirm it with a second factor.'),
  KW_MFA_ENROLLMENT_REQUIRED: spec(403, 'permission_error', 'mfa_enrollment_required', 'Set up a second factor (a passkey or an authenticator app) before anything else.'),
  KW_ACCOUNT_LOCKED: spec(403, 'permission_error', 'account_locked', 'This account is locked after too many failed attempts.'),
  KW_AUTH_RATE_LIMITED: spec(429, 'rate_limit_error', 'rate_limit_exceeded', 'Too many failed sign-in attempts from this address.'),
  KW_STEP_UP_REQUIRED: spec(403, 'permission_error', 'step_up_required', 'Confirm this action with a second factor (step-up), then retry.'),
  KW_CSRF_FAILED: spec(403, 'permission_error', 'csrf_failed', 'The request failed the CSRF check (missing or wrong X-CSRF-Token, or a foreign Origin).'),
  KW_SESSION_EXPIRED: spec(401, 'invalid_request_error', 'session_expired', 'The session has expired or was signed out; sign in again.'),
  KW_SETUP_TOKEN_INVALID: spec(400, 'invalid_request_error', 'setup_token_invalid', 'This setup link is invalid, expired or already used.'),
  KW_INVALID_SECOND_FACTOR: spec(401, 'invalid_request_error', 'invalid_second_factor', 'The code or passkey was not accepted.'),
  KW_START_FAILED: spec(500, 'server_error', 'start_failed', 'The server could not start.'),
  KW_USAGE: spec(400, 'invalid_request_error', 'usage_error', 'Invalid command usage.'),
  KW_INTERNAL: spec(500, 'server_error', 'internal_error', 'Internal error.'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
