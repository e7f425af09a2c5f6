import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { gatewayRootUrl } from '../gateway-url.js';
import { writeLine, type CliIo } from '../io.js';
import { splitList } from '../scope-flags.js';
import type { SetStatus } from './index.js';

interface RunFlags {
  key?: string;
  ttl: string;
  models?: string;
  budget?: string;
  name?: string;
}

/** Exit status of a command killed by a signal, as shells report it. */
function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** The command's environment: the child key and the gateway URL in, the admin token (never the command's) out. */
function commandEnv(env: NodeJS.ProcessEnv, secret: string, baseUrl: string): NodeJS.ProcessEnv {
  const next: NodeJS.ProcessEnv = { ...env, OPENAI_API_KEY: secret, OPENAI_BASE_URL: baseUrl };
  delete next.KEYWARDEN_ADMIN_TOKEN;
  return next;
}

/** Runs the command to its end; SIGINT and SIGTERM sent to keywarden are passed on to it. */
function runCommand(io: CliIo, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.resolve(2);
  // Interactive runs keep the terminal; in-process callers (tests, embedding) get the output through io.
  const inherit = io.stdout === process.stdout;
  const child = spawn(file, args, { env, cwd: io.cwd, stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(io.stdout, { end: false });
  child.stderr?.pipe(io.stderr, { end: false });
  const forward = (signal: NodeJS.Signals) => (): void => {
    child.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise<number>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      writeLine(io.stderr, `keywarden run: cannot run ${file}: ${err.code ?? 'error'}`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal ? signalStatus(signal) : 1)));
  }).finally(() => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  });
}

/**
 * `keywarden run -- <command>`: mints an ephemeral child of a parent key, runs the command with OPENAI_API_KEY and
 * OPENAI_BASE_URL set (so an unconfigured SDK talks to the gateway with the child key), exits with the command's
 * status and revokes the child when the command ends. The TTL is the backstop if keywarden itself is killed.
 */
export function registerRun(program: Command, io: CliIo, setStatus: SetStatus): void {
  program
    .command('run')
    .description('Run a command with a short-lived child key in OPENAI_API_KEY; the key is revoked when it exits.')
    .option('--key <parent>', 'parent key (id or name); default: KEYWARDEN_PARENT_KEY')
    .option('--ttl <duration>', 'lifetime of the child key (at most 24h)', '15m')
    .option('--models <globs>', "models the child may use (within the parent's), comma-separated")
    .option('--budget <usd>', "the child's budget in USD (within the parent's)")
    .option('--name <name>', 'name of the child key')
    .argument('<command...>', 'the command and its arguments, after --')
    .action(async (command: string[], flags: RunFlags) => {
      const parent = flags.key ?? io.env.KEYWARDEN_PARENT_KEY;
      if (!parent) throw new KeywardenError('KW_USAGE', { message: 'keywarden run needs a parent key: --key ID or KEYWARDEN_PARENT_KEY.' });
      const budget = flags.budget === undefined ? undefined : Number(flags.budget);
      if (budget !== undefined && !(Number.isFinite(budget) && budget > 0)) throw new KeywardenError('KW_USAGE', { message: '--budget takes a positive amount in USD' });
      const api = new AdminClient(io.env);
      const child = await api.request<{ id: string; key: string; expires_at: string }>('POST', `/keys/${encodeURIComponent(parent)}/children`, {
        ttl: flags.ttl,
        name: flags.name ?? `run: ${command.join(' ').slice(0, 150)}`,
        ...(flags.models === undefined ? {} : { models: splitList(flags.models) }),
        ...(budget === undefined ? {} : { budget_usd: budget }),
      });
      let status: number;
      try {
        status = await runCommand(io, command, commandEnv(io.env, child.key, `${gatewayRootUrl(io.env)}/v1`));
      } finally {
        try {
          await api.request('POST', `/keys/${encodeURIComponent(child.id)}/revoke`, {});
        } catch {
          writeLine(io.stderr, `keywarden run: could not revoke ${child.id}; it expires at ${child.expires_at}.`);
        }
      }
      setStatus(status);
    });
}
