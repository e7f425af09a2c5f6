import { FakeKeys } from '../rules/fake-keys.js';
import { PLANT_KINDS, makeDecoy, type PlantKind } from './providers.js';

/** A key the corpus planted: the scanner must report exactly these (path + secret) and nothing else. */
export interface PlantedKey {
  path: string;
  ruleId: string;
  secret: string;
}

export interface CorpusFile {
  path: string;
  content: string;
  planted: PlantedKey[];
}

export interface CorpusOptions {
  seed: number;
  files: number;
  /** Approximate total size; file sizes vary around totalBytes / files. */
  totalBytes: number;
  /** Share of files that get keys (default 0.3). */
  plantRate?: number;
}

type Format = 'env' | 'json' | 'yaml' | 'py' | 'ts' | 'ipynb' | 'k8s' | 'md';
const FORMATS: readonly Format[] = ['env', 'json', 'yaml', 'py', 'ts', 'ipynb', 'k8s', 'md'];
const EXTENSIONS: Record<Format, string> = {
  env: '.env', json: '.json', yaml: '.yaml', py: '.py', ts: '.ts', ipynb: '.ipynb', k8s: '.yaml', md: '.md',
};
const DIRS = ['src', 'services/api', 'services/worker', 'config', 'deploy/k8s', 'notebooks', 'docs', 'scripts', 'lib/util', 'packages/core/src'];
const WORDS = ('request response handler client server cache token user account model prompt stream retry timeout ' +
  'buffer queue worker config value result error status message payload header session index offset range ' +
  'count total batch page limit filter sort order schema table column record event metric trace span').split(' ');
/** Words that trip the prefilter (provider names, `sk-` inside words); real text has them, but not on every line. */
const TRIGGER_WORDS = 'together azure deepseek mistral cohere task-runner risk-score desk-booking disk-usage'.split(' ');

/** Lines of ordinary code and prose that fill files up to size; includes words that trip the prefilter. */
function fillerPool(f: FakeKeys): string[] {
  const w = (): string =>
    f.random() < 0.01 ? (TRIGGER_WORDS[f.int(0, TRIGGER_WORDS.length - 1)] as string) : (WORDS[f.int(0, WORDS.length - 1)] as string);
  const templates: Array<() => string> = [
    () => `  const ${w()}${f.int(0, 99)} = await ${w()}.${w()}(${w()}, { ${w()}: ${f.int(0, 9999)} });`,
    () => `    if (${w()}.${w()} === undefined) throw new Error('${w()} ${w()} failed');`,
    () => `# ${w()} ${w()} ${w()} ${w()} — we bring the ${w()} and the ${w()} together here`,
    () => `def ${w()}_${w()}(self, ${w()}: str) -> dict:  # ${w()} ${w()}`,
    () => `log.info("${w()} ${w()} took %d ms", ${f.int(1, 500)})`,
    () => `  "${w()}_${w()}": ${f.int(0, 100000)},`,
    () => `| ${w()} | ${w()} | ${f.int(0, 99)} | ${w()} |`,
    () => `${w()}.${w()}.${w()}(${w()}, ${w()}, ${f.int(0, 3)})`,
    () => `  ${w()}: ${w()}-${w()}-${f.int(1, 9)}`,
    () => `See https://docs.example.com/${w()}/${w()}?page=${f.int(1, 9)}&lang=en for ${w()} details.`,
    () => '',
  ];
  return Array.from({ length: 4000 }, () => (templates[f.int(0, templates.length - 1)] as () => string)());
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/** One planted key rendered in the file's own format, in the places keys really end up. */
function plantLine(format: Format, kind: PlantKind, key: string, f: FakeKeys): string {
  const name = kind.envName;
  const lower = kind.provider.toLowerCase();
  switch (format) {
    case 'env':
      return f.random() < 0.5 ? `${name}=${key}` : `export ${name}="${key}"`;
    case 'json':
      return `  "${lower}": {\n    "apiKey": "${key}",\n    "timeoutMs": 30000\n  },`;
    case 'yaml':
      return `${lower}:\n  api_key: ${key}\n  retries: 3`;
    case 'py':
      return f.random() < 0.5 ? `client = ${kind.provider}(api_key="${key}")` : `os.environ["${name}"] = '${key}'`;
    case 'ts':
      return f.random() < 0.5
        ? `const ${lower}Client = new ${kind.provider}({ apiKey: '${key}' });`
        : `fetch(\`https://gateway.example.com/v1/chat?${name.toLowerCase()}=${key}&stream=true\`);`;
    case 'ipynb':
      return `    "os.environ[\\"${name}\\"] = \\"${key}\\"\\n",`;
    case 'k8s':
      return `  ${name}: ${b64(key)}`;
    case 'md':
      return `curl "https://api.example.com/v1/models?${name.toLowerCase()}=${key}&limit=5"`;
  }
}

function wrap(format: Format, body: string): string {
  switch (format) {
    case 'json':
      return `{\n  "name": "service",\n${body}\n  "version": 1\n}\n`;
    case 'ipynb':
      return `{\n "cells": [\n  {\n   "cell_type": "code",\n   "source": [\n${body}\n    "print(1)"\n   ]\n  }\n ],\n "nbformat": 4\n}\n`;
    case 'k8s':
      return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: llm-credentials\ntype: Opaque\ndata:\n${body}\n`;
    default:
      return `${body}\n`;
  }
}

/** Filler lines adapted to the format so JSON, notebooks and Secrets stay well-formed enough to look real. */
function fillerLine(format: Format, line: string, f: FakeKeys): string {
  if (format === 'json') return `  "k${f.int(0, 1e6)}": ${JSON.stringify(line)},`;
  if (format === 'ipynb') return `    ${JSON.stringify(`${line}\n`)},`;
  if (format === 'k8s') return `  CONFIG_${f.int(0, 1e6)}: ${b64(line || 'x')}`;
  if (format === 'env') return `# ${line}`;
  return line;
}

/**
 * A seeded, reproducible corpus: files in realistic formats (.env, JSON, YAML, code, URLs, notebooks, Kubernetes
 * Secrets with base64 data) with keys planted at known places, plus decoys that must not be reported.
 */
export function* generateCorpus(options: CorpusOptions): Generator<CorpusFile> {
  const f = new FakeKeys(options.seed);
  const pool = fillerPool(f);
  const average = options.totalBytes / options.files;
  const plantRate = options.plantRate ?? 0.3;
  for (let n = 0; n < options.files; n++) {
    const format = FORMATS[n % FORMATS.length] as Format;
    const dir = DIRS[f.int(0, DIRS.length - 1)] as string;
    const path = `${dir}/${format}-${n}${EXTENSIONS[format]}`;
    const target = Math.max(400, Math.round(average * (0.25 + 1.5 * f.random())));
    const planted: PlantedKey[] = [];
    const lines: string[] = [];
    let size = 0;
    const plants = f.random() < plantRate ? f.int(1, 3) : 0;
    const plantEvery = plants > 0 ? Math.floor(target / (plants + 1)) : Infinity;
    let nextPlant = plantEvery;
    while (size < target) {
      let line: string;
      if (size >= nextPlant && planted.length < plants) {
        const kind = PLANT_KINDS[f.int(0, PLANT_KINDS.length - 1)] as PlantKind;
        const key = kind.make(f);
        line = plantLine(format, kind, key, f);
        planted.push({ path, ruleId: kind.ruleId, secret: key });
        nextPlant += plantEvery;
      } else if (f.random() < 0.01) {
        line = fillerLine(format, makeDecoy(f), f);
      } else {
        line = fillerLine(format, pool[f.int(0, pool.length - 1)] as string, f);
      }
      lines.push(line);
      size += line.length + 1;
    }
    yield { path, content: wrap(format, lines.join('\n')), planted };
  }
}
