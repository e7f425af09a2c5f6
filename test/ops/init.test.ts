import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ajv2020 from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { schemaReference, shippedSchemaFile } from '../../src/cli/commands/init.js';
import { configJsonSchema, loadConfig, parseConfig } from '../../src/config/index.js';
import { cli } from '../cli/run-cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-init-'));
  dirs.push(dir);
  return dir;
}

function validator(schema: object): ReturnType<InstanceType<typeof ajv2020.default>['compile']> {
  const Ajv2020 = ajv2020.default;
  return new Ajv2020({ strict: false, allErrors: true }).compile(schema);
}

describe('keywarden init', () => {
  it('writes a commented YAML config that validates against its JSON Schema and loads as exactly the defaults', async () => {
    const dir = await tempDir();
    const run = await cli(['init'], {}, { cwd: dir });
    expect(run.status, run.stderr).toBe(0);
    const file = path.join(dir, 'keywarden.config.yaml');
    const text = await readFile(file, 'utf8');
    expect(text.split('\n').filter((line) => line.trimStart().startsWith('#')).length).toBeGreaterThan(10);
    const data = parseYaml(text) as Record<string, unknown>;
    // The $schema key and the yaml-language-server modeline name the schema file shipped with this keywarden.
    expect(data.$schema).toBe(schemaReference(file, shippedSchemaFile()));
    expect(text).toContain(`# yaml-language-server: $schema=${String(data.$schema)}`);

    const validate = validator(configJsonSchema() as object);
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    // The validator is not vacuous: a typo or a wrong type is refused.
    expect(validate({ ...data, server: { prot: 8787 } })).toBe(false);
    expect(validate({ ...data, log: { level: 'loud' } })).toBe(false);
    // The file the build ships (when built) is the same schema.
    if (existsSync(shippedSchemaFile())) {
      const shipped = JSON.parse(await readFile(shippedSchemaFile(), 'utf8')) as object;
      expect(validator(shipped)(data)).toBe(true);
    }

    const loaded = await loadConfig({ file, env: {}, cwd: dir });
    const defaults = parseConfig({});
    expect(loaded).toEqual({ ...defaults, $schema: data.$schema, dataDir: path.join(dir, '.keywarden'), scan: expect.any(Object) as unknown });
    expect(loaded.scan).toEqual(parseConfig({ scan: {} }).scan);

    // The scanner reads the same file without complaint.
    const scan = await cli(['scan', '--json'], {}, { cwd: dir });
    expect(scan.status, scan.stdout + scan.stderr).toBe(0);
  });

  it('refuses to overwrite (a file or a symlink) without --force; --force replaces the file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'keywarden.config.yaml');
    await writeFile(file, 'mine: true\n');
    const refused = await cli(['init'], {}, { cwd: dir });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('already exists; use --force');
    expect(await readFile(file, 'utf8')).toBe('mine: true\n');

    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'keep\n');
    await symlink(victim, path.join(dir, 'linked.yaml'));
    expect((await cli(['init', 'linked.yaml'], {}, { cwd: dir })).status).toBe(2);
    expect(await readFile(victim, 'utf8')).toBe('keep\n');

    const forced = await cli(['init', '--force', '--json'], {}, { cwd: dir });
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ written: file });
    expect(await readFile(file, 'utf8')).toContain('$schema');
  });

  it('reports mistakes with exit 2, as JSON with --json', async () => {
    const dir = await tempDir();
    const json = await cli(['init', 'config.json', '--json'], {}, { cwd: dir });
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'KW_USAGE', message: expect.stringContaining('.yaml') as unknown } });
    const missingDir = await cli(['init', 'nope/sub/k.yaml'], {}, { cwd: dir });
    expect(missingDir.status).toBe(2);
    expect(missingDir.stderr).toContain('directory does not exist');
  });

  it('refers to the schema relatively when it lies under the config directory, absolutely otherwise', () => {
    expect(schemaReference('/p/keywarden.config.yaml', '/p/node_modules/keywarden/dist/keywarden.schema.json')).toBe(
      './node_modules/keywarden/dist/keywarden.schema.json',
    );
    expect(schemaReference('/p/keywarden.config.yaml', '/usr/lib/node_modules/keywarden/dist/keywarden.schema.json')).toBe(
      '/usr/lib/node_modules/keywarden/dist/keywarden.schema.json',
    );
  });
});
