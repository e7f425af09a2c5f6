export * from './endpoint-groups.js';
export * from './model-glob.js';
export * from './ip-allowlist.js';
export * from './client-ip.js';
export * from './scopes.js';
