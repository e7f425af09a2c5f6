import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { KeywardenError } from '../../errors/index.js';
import type { ProviderId } from '../types.js';

const USER_CONFIG_NAMES = ['config.yaml', 'config.yml', 'config.json'];

/** `$XDG_CONFIG_HOME/keywarden` (an absolute XDG_CONFIG_HOME only, as the spec says), else `~/.config/keywarden`. */
export function userConfigDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'keywarden');
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
  return path.join(home, '.config', 'keywarden');
}

/**
 * Verification endpoint overrides from the user-level config (`scan.verify.baseUrls`, same shape as the project
 * file). Only this file, the command line and the environment may say where secrets are sent for verification:
 * it belongs to the person running the scan, never to the repository being scanned.
 */
export async function loadUserVerifyEndpoints(env: NodeJS.ProcessEnv): Promise<{ file: string; baseUrls: Partial<Record<ProviderId, string>> } | null> {
  const dir = userConfigDir(env);
  for (const name of USER_CONFIG_NAMES) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KeywardenError('KW_CONFIG_INVALID', { message: `Cannot read ${file}` });
    }
    const yaml = /\.ya?ml$/.test(name);
    let raw: unknown;
    try {
      raw = yaml ? (await import('yaml')).parse(text) : JSON.parse(text);
    } catch {
      throw new KeywardenError('KW_CONFIG_INVALID', { message: `${file} is not valid ${yaml ? 'YAML' : 'JSON'}` });
    }
    const { parseScanConfig } = await import('./scan-config.js');
    return { file, baseUrls: parseScanConfig(raw, file).verify.baseUrls };
  }
  return null;
}
