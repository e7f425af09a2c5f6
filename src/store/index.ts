export * from './types.js';
export { SqliteStore, SQLITE_FILE_NAME } from './sqlite/sqlite-store.js';
