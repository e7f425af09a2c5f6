export { configSchema, type KeywardenConfig, type KeywardenConfigInput } from './schema.js';
export { applyEnvOverrides, loadConfig, parseConfig, type LoadConfigOptions } from './load.js';
export { formatIssues } from './format-issues.js';
export { configJsonSchema } from './json-schema.js';
