import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KeywardenError } from '../errors/index.js';
import { formatIssues } from './format-issues.js';
import { configSchema, type KeywardenConfig } from './schema.js';

type Json = Record<string, unknown>;


function setPath(target: Json, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Json;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Environment variables that override the file, and how each is parsed. */
const ENV_OVERRIDES: ReadonlyArray<[string, string, (raw: string) => unknown]> = [
  ['KEYWARDEN_HOST', 'server.host', (raw) => raw],
  ['KEYWARDEN_PORT', 'server.port', (raw) => (/^\d+$/.test(raw) ? Number(raw) : raw)],
  ['KEYWARDEN_DATA_DIR', 'dataDir', (raw) => raw],
  ['KEYWARDEN_TRUSTED_PROXIES', 'server.trustedProxies', (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean)],
  ['KEYWARDEN_LOG_LEVEL', 'log.level', (raw) => raw],
  ['KEYWARDEN_OUTBOUND_ALLOW', 'outbound.allow', (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean)],
  ['KEYWARDEN_REDIS_URL', 'limits.redis.url', (raw) => raw],
  ['KEYWARDEN_DATABASE_URL', 'store.url', (raw) => raw],
  ['KEYWARDEN_MONITOR', 'monitor.enabled', (raw) => !['off', 'false', '0', 'no'].includes(raw.toLowerCase())],
];

export function applyEnvOverrides(raw: Json, env: NodeJS.ProcessEnv): Json {
  const merged = structuredClone(raw);
  for (const [name, dotted, parse] of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(merged, dotted, parse(value));
  }
  return merged;
}

/** Parse → check, reporting every error together. */
export function parseConfig(raw: unknown): KeywardenConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new KeywardenError('KW_CONFIG_INVALID', {
      message: `Invalid configuration:\n${formatIssues(result.error.issues)}`,
    });
  }
  return result.data;
}

async function readConfigFile(file: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new KeywardenError('KW_CONFIG_INVALID', { message: `Cannot read config file ${file}` });
  }
  try {
    const parsed: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('not an object');
    }
    return parsed as Json;
  } catch {
    throw new KeywardenError('KW_CONFIG_INVALID', { message: `Config file ${file} is not a valid JSON/YAML object` });
  }
}

export interface LoadConfigOptions {
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Values from CLI flags; they win over env and file. */
  overrides?: Json;
}

/** File, then environment, then flags. The data dir is resolved against cwd. */
export async function loadConfig(options: LoadConfigOptions): Promise<KeywardenConfig> {
  const fromFile = options.file ? await readConfigFile(path.resolve(options.cwd, options.file)) : {};
  const withEnv = applyEnvOverrides(fromFile, options.env);
  for (const [dotted, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(withEnv, dotted, value);
  }
  const config = parseConfig(withEnv);
  return { ...config, dataDir: path.resolve(options.cwd, config.dataDir) };
}
