export { ERROR_CODES, type ErrorCode, type ErrorSpec } from './codes.js';
export { KeywardenError, asKeywardenError, toOpenAIError, type OpenAIErrorBody } from './keywarden-error.js';
