export { configSchema, type KeywardenConfig, type KeywardenConfigInput } from './schema.js';
export { applyEnvOverrides, formatIssues, loadConfig, parseConfig, type LoadConfigOptions } from './load.js';
export { configJsonSchema } from './json-schema.js';
