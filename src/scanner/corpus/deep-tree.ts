import { FakeKeys } from '../rules/fake-keys.js';
import type { CorpusFile, PlantedKey } from './generator.js';
import { PLANT_KINDS, makeDecoy, type PlantKind } from './providers.js';

/**
 * A seeded tree shaped like a real monorepo checkout rather than the flat corpus: many nested directories (most
 * of them holding one or two files or none), source files with long lines, JSON, lockfiles full of base64
 * integrity hashes, a few minified bundles, and .env / config files with keys. Listing cost and the mix of file
 * sizes, not the scan engine, decide the speed on such a tree.
 */
export interface DeepTreeOptions {
  seed: number;
  files: number;
  directories: number;
  /** Approximate total size of all files. */
  totalBytes: number;
}

export interface DeepTree {
  /** Every directory, relative, including the ones that end up empty. */
  directories: string[];
  files: CorpusFile[];
  planted: PlantedKey[];
}

type Kind = 'bundle' | 'lockfile' | 'env' | 'config' | 'json' | 'source';

const SEGMENTS = ('packages apps libs src lib internal components hooks utils services api handlers models views ' +
  'controllers routes store middleware plugins adapters core shared common test fixtures e2e assets styles i18n ' +
  'config scripts tools infra deploy charts templates migrations schemas types generated vendor docs examples').split(' ');
const WORDS = ('request response handler client server cache token user account model prompt stream retry timeout ' +
  'buffer queue worker config value result error status message payload header session index offset range count ' +
  'total batch page limit filter sort order schema table column record event metric trace span').split(' ');
const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.js', '.py', '.go', '.java', '.rb', '.rs'];

/** Key kinds whose rules need no surrounding words: safe to plant inside a minified line. */
const PREFIXED_KINDS = PLANT_KINDS.filter((kind) =>
  ['openai-project-key', 'anthropic-api-key', 'groq-api-key', 'huggingface-token', 'openrouter-api-key'].includes(kind.ruleId),
);

function word(f: FakeKeys): string {
  return WORDS[f.int(0, WORDS.length - 1)] as string;
}

function directoriesFor(f: FakeKeys, count: number): string[] {
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    // Attach to a recent directory more often than an old one: deep chains like real source trees.
    const parent = dirs.length === 0 || f.random() < 0.08 ? '' : (dirs[Math.max(0, dirs.length - 1 - f.int(0, 300))] as string);
    const name = `${SEGMENTS[f.int(0, SEGMENTS.length - 1)] as string}-${i}`;
    dirs.push(parent === '' ? name : `${parent}/${name}`);
  }
  return dirs;
}

/** A line of code; one in twelve is long (a data table, an inline SVG path, a generated constant). */
function sourceLine(f: FakeKeys): string {
  const roll = f.random();
  if (roll < 0.06) return `export const ${word(f)}Table = [${Array.from({ length: f.int(40, 300) }, () => f.int(0, 65535)).join(', ')}];`;
  if (roll < 0.08) return `const icon = "M${Array.from({ length: f.int(50, 250) }, () => `${f.int(0, 99)}.${f.int(0, 9)} ${f.int(0, 99)}`).join('L')}Z";`;
  if (roll < 0.085) return `  ${word(f)}: "data:image/png;base64,${Buffer.from(f.hex(f.int(200, 1200)), 'hex').toString('base64')}",`;
  if (roll < 0.09) return `    // ${makeDecoy(f)}`;
  if (roll < 0.5) return `  const ${word(f)}${f.int(0, 99)} = await ${word(f)}.${word(f)}(${word(f)}, { ${word(f)}: ${f.int(0, 9999)} });`;
  if (roll < 0.7) return `    if (${word(f)}.${word(f)} === undefined) throw new Error('${word(f)} ${word(f)} failed: ' + ${word(f)});`;
  if (roll < 0.85) return `  // ${word(f)} ${word(f)} ${word(f)} ${word(f)} ${word(f)} ${word(f)} ${word(f)}`;
  return '';
}

function plantedLine(kind: PlantKind, key: string, style: Kind, f: FakeKeys): string {
  const lower = kind.provider.toLowerCase();
  switch (style) {
    case 'env':
      return `${kind.envName}=${key}`;
    case 'config':
      return `${lower}:\n  api_key: ${key}\n  timeout: ${f.int(5, 60)}`;
    case 'json':
      return `  "${lower}": { "apiKey": "${key}", "region": "eu" },`;
    case 'bundle':
      return `;const ${lower}Client=new ${kind.provider}({apiKey:"${key}",maxRetries:2});`;
    default:
      return `const ${lower}Client = new ${kind.provider}({ apiKey: '${key}' });`;
  }
}

function lockfile(f: FakeKeys, target: number, yarn: boolean): string {
  const parts: string[] = yarn ? ['# yarn lockfile v1\n'] : ['{\n  "name": "monorepo",\n  "lockfileVersion": 3,\n  "packages": {\n'];
  let size = 0;
  while (size < target) {
    const name = `${word(f)}-${word(f)}${f.int(0, 999)}`;
    const version = `${f.int(0, 9)}.${f.int(0, 40)}.${f.int(0, 20)}`;
    const integrity = `sha512-${Buffer.from(f.hex(128), 'hex').toString('base64')}`;
    const entry = yarn
      ? `\n${name}@^${version}:\n  version "${version}"\n  resolved "https://registry.example.org/${name}/-/${name}-${version}.tgz#${f.hex(40)}"\n  integrity ${integrity}\n`
      : `    "node_modules/${name}": {\n      "version": "${version}",\n      "resolved": "https://registry.example.org/${name}/-/${name}-${version}.tgz",\n      "integrity": "${integrity}",\n      "license": "MIT"\n    },\n`;
    parts.push(entry);
    size += entry.length;
  }
  parts.push(yarn ? '' : '    "": {}\n  }\n}\n');
  return parts.join('');
}

/** One line of minified JavaScript, no newline anywhere. */
function bundle(f: FakeKeys, target: number, plant: string | undefined): string {
  const parts: string[] = ['!function(e,t){"use strict";'];
  let size = 0;
  let planted = plant === undefined;
  while (size < target) {
    const roll = f.random();
    const piece =
      roll < 0.05
        ? `var ${word(f)[0] ?? 'a'}${f.int(0, 99)}="data:font/woff2;base64,${Buffer.from(f.hex(f.int(400, 4000)), 'hex').toString('base64')}";`
        : `function ${word(f)}${f.int(0, 9999)}(n,r){return n.${word(f)}(r,{${word(f)}:${f.int(0, 999)},${word(f)}:"${word(f)}-${word(f)}"})||e.${word(f)}[r]}`;
    parts.push(piece);
    size += piece.length;
    if (!planted && size > target / 2) {
      parts.push(plant ?? '');
      planted = true;
    }
  }
  parts.push('}(this);');
  return parts.join('');
}

/** Generates the tree (deterministic for a seed). Files are kept in memory: ~30 MB at the benchmark's size. */
export function generateDeepTree(options: DeepTreeOptions): DeepTree {
  const f = new FakeKeys(options.seed);
  const directories = directoriesFor(f, options.directories);
  const files: CorpusFile[] = [];
  const planted: PlantedKey[] = [];
  const average = options.totalBytes / options.files;
  const bundles = Math.max(1, Math.round(options.files / 400));
  const lockfiles = Math.max(1, Math.round(options.files / 300));
  const used = new Set<string>();
  for (let n = 0; n < options.files; n++) {
    let dir = directories[f.int(0, directories.length - 1)] as string;
    // Lockfiles and .env files have fixed names: two in one directory would overwrite each other.
    while (used.has(dir) && used.size < directories.length) dir = directories[f.int(0, directories.length - 1)] as string;
    used.add(dir);
    const kind: Kind =
      n < bundles ? 'bundle' : n < bundles + lockfiles ? 'lockfile' : n % 25 === 0 ? 'env' : n % 25 === 1 ? 'config' : n % 7 === 0 ? 'json' : 'source';
    const fileKeys: PlantedKey[] = [];
    const plantKey = (kinds: readonly PlantKind[], style: Kind, path: string): string => {
      const plantKind = kinds[f.int(0, kinds.length - 1)] as PlantKind;
      const key = plantKind.make(f);
      fileKeys.push({ path, ruleId: plantKind.ruleId, secret: key });
      return plantedLine(plantKind, key, style, f);
    };
    let path: string;
    let content: string;
    if (kind === 'bundle') {
      path = `${dir}/vendor.${f.hex(8)}.min.js`;
      content = bundle(f, Math.round(options.totalBytes * 0.025), n === 0 ? plantKey(PREFIXED_KINDS, 'bundle', path) : undefined);
    } else if (kind === 'lockfile') {
      const yarn = n % 2 === 1;
      path = `${dir}/${yarn ? 'yarn.lock' : 'package-lock.json'}`;
      content = lockfile(f, Math.round(options.totalBytes * 0.02), yarn);
    } else if (kind === 'env' || kind === 'config') {
      path = kind === 'env' ? `${dir}/.env.${['local', 'production', 'test'][n % 3] as string}` : `${dir}/settings-${n}.yaml`;
      const lines: string[] = [];
      for (let k = f.int(1, 3); k > 0; k--) {
        lines.push(kind === 'env' ? `# ${word(f)} ${word(f)}` : `${word(f)}_${word(f)}: ${f.int(0, 999)}`);
        lines.push(plantKey(PLANT_KINDS, kind, path));
      }
      lines.push(kind === 'env' ? `LOG_LEVEL=info\nPORT=${f.int(3000, 9000)}` : `log_level: info\nport: ${f.int(3000, 9000)}`);
      content = `${lines.join('\n')}\n`;
    } else {
      const json = kind === 'json';
      path = `${dir}/${word(f)}-${n}${json ? '.json' : (SOURCE_EXTENSIONS[f.int(0, SOURCE_EXTENSIONS.length - 1)] as string)}`;
      const target = Math.max(300, Math.round(average * 0.85 * (0.2 + 1.6 * f.random())));
      const lines: string[] = json ? ['{'] : [];
      const plants = f.random() < 0.06 ? 1 : 0;
      let size = 0;
      while (size < target) {
        const line = plants > fileKeys.length && size > target / 2
          ? plantKey(PLANT_KINDS, json ? 'json' : 'source', path)
          : json ? `  "${word(f)}_${f.int(0, 99999)}": ${JSON.stringify(sourceLine(f))},` : sourceLine(f);
        lines.push(line);
        size += line.length + 1;
      }
      if (json) lines.push('  "version": 1\n}');
      content = `${lines.join('\n')}\n`;
    }
    planted.push(...fileKeys);
    files.push({ path, content, planted: fileKeys });
  }
  return { directories, files, planted };
}

/** One line of minified JavaScript of about `bytes` characters with one planted key in its middle. */
export function generateMinifiedLine(seed: number, bytes: number): { content: string; planted: PlantedKey } {
  const f = new FakeKeys(seed);
  const kind = PREFIXED_KINDS[0] as PlantKind;
  const secret = kind.make(f);
  const content = bundle(f, bytes, plantedLine(kind, secret, 'bundle', f));
  return { content, planted: { path: '', ruleId: kind.ruleId, secret } };
}
