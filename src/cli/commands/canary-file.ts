import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import type { AdminClient } from '../admin-client.js';
import { canaryEnvText } from '../canary-env.js';
import { gatewayRootUrl } from '../gateway-url.js';
import { writeLine, type CliIo } from '../io.js';

interface CanaryFileFlags {
  out?: string;
  name?: string;
  baseUrl?: string;
}

/**
 * `keys canary-file`: mints a fresh canary key and writes a realistic `.env` around it, to plant in repositories,
 * CI secrets and laptops. The file is created 0600 and never overwrites an existing one (a real `.env` must not be
 * replaced by a trap). Without --out the text goes to stdout.
 */
export function registerCanaryFile(keys: Command, io: CliIo, client: () => AdminClient): void {
  keys
    .command('canary-file')
    .description('Create a canary key and write a realistic .env holding it (to plant where a thief would look).')
    .option('--out <path>', 'file to create (never overwritten); default: print to stdout')
    .option('--name <name>', 'canary name, e.g. where it is planted', 'canary .env')
    .option('--base-url <url>', "OPENAI_BASE_URL to write (default: the gateway's URL from KEYWARDEN_URL + /v1)")
    .action(async (flags: CanaryFileFlags) => {
      const baseUrl = flags.baseUrl ?? `${gatewayRootUrl(io.env)}/v1`;
      if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) throw new KeywardenError('KW_USAGE', { message: '--base-url takes an http(s) URL' });
      const created = await client().request<{ id: string; key: string }>('POST', '/keys', { name: flags.name ?? 'canary .env', canary: true });
      const text = canaryEnvText({ secret: created.key, baseUrl });
      if (flags.out === undefined) {
        io.stdout.write(text);
        return;
      }
      try {
        await writeFile(flags.out, text, { flag: 'wx', mode: 0o600 });
      } catch (err) {
        const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
        // The canary exists either way; say which one, so it can be revoked if the file could not be written.
        throw new KeywardenError('KW_USAGE', {
          message: `${exists ? `${flags.out} already exists; not overwriting it` : `cannot write ${flags.out}`} (canary ${created.id} was created; revoke it if unused).`,
        });
      }
      writeLine(io.stdout, `Wrote ${flags.out} with canary key ${created.id}. Any use of it raises a critical alert.`);
    });
}
