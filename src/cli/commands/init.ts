import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { configTemplate } from '../config-template.js';
import { EXIT_OK, writeJson, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';

/** The JSON Schema shipped in the package (written by the build next to the compiled code). */
export function shippedSchemaFile(): string {
  return fileURLToPath(new URL('../../../dist/keywarden.schema.json', import.meta.url));
}

/**
 * How the config file refers to the schema: relative when the schema lies under the config's directory (a
 * project's node_modules), so the file works on any checkout; absolute otherwise (a global install).
 */
export function schemaReference(configFile: string, schemaFile: string): string {
  const relative = path.relative(path.dirname(configFile), schemaFile).split(path.sep).join('/');
  return relative.startsWith('../') || path.isAbsolute(relative) ? schemaFile : `./${relative}`;
}

/** `keywarden init`: writes a commented config file that editors can complete and check. */
export function registerInit(program: Command, io: CliIo, setStatus: SetStatus): void {
  program
    .command('init')
    .description('Write a commented keywarden.config.yaml (with a $schema reference for editors).')
    .argument('[file]', 'file to write', 'keywarden.config.yaml')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: { force?: boolean; json?: boolean }) => {
      const target = path.resolve(io.cwd, file);
      if (!/\.ya?ml$/i.test(target)) {
        throw new KeywardenError('KW_USAGE', { message: `${file}: init writes YAML; use a .yaml or .yml name.` });
      }
      const schemaFile = shippedSchemaFile();
      const reference = schemaReference(target, schemaFile);
      try {
        // 'wx' refuses to follow or replace anything already there, a symlink included, unless --force.
        await writeFile(target, configTemplate(reference), { flag: flags.force === true ? 'w' : 'wx', mode: 0o644 });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 'EEXIST') {
          throw new KeywardenError('KW_USAGE', { message: `${target} already exists; use --force to overwrite it.` });
        }
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new KeywardenError('KW_USAGE', { message: `Cannot write ${target}: its directory does not exist.` });
        if (code === 'EISDIR') throw new KeywardenError('KW_USAGE', { message: `Cannot write ${target}: it is a directory.` });
        if (code === 'EACCES' || code === 'EPERM') throw new KeywardenError('KW_USAGE', { message: `Cannot write ${target}: permission denied.` });
        throw err;
      }
      const schemaFound = existsSync(schemaFile);
      if (flags.json === true) {
        writeJson(io.stdout, { written: target, schema: reference, schemaFound });
      } else {
        writeLine(io.stdout, `Wrote ${target}.`);
        writeLine(io.stdout, `Editors that read $schema (VS Code with the YAML extension, JetBrains) complete and check it against ${reference}.`);
        writeLine(io.stdout, `Start with it: keywarden serve --config ${path.relative(io.cwd, target) || target}`);
      }
      if (!schemaFound) writeLine(io.stderr, `keywarden: note: ${schemaFile} is missing (run \`npm run build\`); the config works without it.`);
      setStatus(EXIT_OK);
    });
}
