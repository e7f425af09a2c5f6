import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KeywardenError } from '../../errors/index.js';
import { defaultScanConfig, type ScanConfig } from './defaults.js';

const CONFIG_NAMES = ['keywarden.config.json', 'keywarden.config.yaml', 'keywarden.config.yml'];

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeywardenError('KW_CONFIG_INVALID', { message: `Cannot read ${path.basename(file)}` });
  }
}

/**
 * Loads `explicit` (which must exist) or the first keywarden.config.* in `cwd`; defaults when there is none.
 * The validator (zod) and the YAML parser are loaded only when there is a file to read.
 */
export async function loadScanConfig(cwd: string, explicit?: string): Promise<ScanConfig> {
  const candidates = explicit !== undefined ? [path.resolve(cwd, explicit)] : CONFIG_NAMES.map((name) => path.join(cwd, name));
  for (const file of candidates) {
    const text = await readIfExists(file);
    if (text === undefined) {
      if (explicit !== undefined) throw new KeywardenError('KW_CONFIG_INVALID', { message: `Config file ${explicit} not found` });
      continue;
    }
    const yaml = /\.ya?ml$/i.test(file);
    let raw: unknown;
    try {
      raw = yaml ? (await import('yaml')).parse(text) : JSON.parse(text);
    } catch {
      throw new KeywardenError('KW_CONFIG_INVALID', { message: `${path.basename(file)} is not valid ${yaml ? 'YAML' : 'JSON'}` });
    }
    const { parseScanConfig } = await import('./scan-config.js');
    return parseScanConfig(raw, path.basename(file));
  }
  return defaultScanConfig();
}

/** Lines of a .keywardenignore file (gitignore syntax), or none. */
export async function readKeywardenIgnore(dir: string): Promise<string[]> {
  const text = await readIfExists(path.join(dir, '.keywardenignore'));
  return text === undefined ? [] : text.split(/\r?\n/);
}
