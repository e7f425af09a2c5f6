import type { Command } from 'commander';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { readAll, writeJson, writeLine, type CliIo } from '../io.js';
import { renderTable } from '../table.js';

interface UserView {
  id: string;
  name: string;
  role: string;
  mfa: { totp: boolean; passkeys: number; recovery_codes_left: number };
  setup_pending: boolean;
  created_at: string;
  setup_url?: string;
  setup_expires_at?: string;
}

const ROLES = ['owner', 'admin', 'viewer'];

function mfaText(user: UserView): string {
  const factors = [user.mfa.totp ? 'totp' : null, user.mfa.passkeys > 0 ? `${user.mfa.passkeys} passkey(s)` : null].filter(Boolean);
  return factors.length === 0 ? 'not enrolled' : `${factors.join(', ')}; ${user.mfa.recovery_codes_left} recovery codes left`;
}

/**
 * `keywarden users add|list|remove|reset-mfa`: console accounts, through the admin API with an owner token (as
 * `tokens` does), so it works against a running server.
 */
export function registerUsers(program: Command, io: CliIo): void {
  const users = program.command('users').description('Console users: add, list, remove, reset MFA (needs an owner token).');
  const client = (): AdminClient => new AdminClient(io.env);
  const ref = (name: string): string => `/users/${encodeURIComponent(name)}`;

  users
    .command('add <name>')
    .description('Add a console user; prints a one-time setup link (valid 15 minutes), or reads the password from stdin.')
    .option('--role <role>', 'owner | admin | viewer', 'viewer')
    .option('--password-stdin', 'read the password from stdin (first line) instead of issuing a setup link')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { role: string; passwordStdin?: boolean; json?: boolean }) => {
      if (!ROLES.includes(flags.role)) throw new KeywardenError('KW_USAGE', { message: `--role must be one of ${ROLES.join(', ')}` });
      const body: Record<string, unknown> = { name, role: flags.role };
      if (flags.passwordStdin) {
        const password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
        if (password === '') throw new KeywardenError('KW_USAGE', { message: '--password-stdin: stdin is empty.' });
        body.password = password;
      }
      const created = await client().request<UserView>('POST', '/users', body);
      if (flags.json) return writeJson(io.stdout, created);
      writeLine(io.stdout, `Added user ${created.name} (${created.id}, role ${created.role}).`);
      if (created.setup_url) {
        writeLine(io.stdout, `One-time setup link (valid until ${created.setup_expires_at ?? 'soon'}; give it only to ${created.name}):`);
        writeLine(io.stdout, `  ${created.setup_url}`);
      } else {
        writeLine(io.stdout, 'The user signs in with that password and must enrol a second factor first.');
      }
    });

  users
    .command('list')
    .description('List console users, their roles and second factors.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { data } = await client().request<{ data: UserView[] }>('GET', '/users');
      if (flags.json) return writeJson(io.stdout, data);
      writeLine(io.stdout, renderTable(['ID', 'NAME', 'ROLE', 'MFA', 'SETUP', 'CREATED'], data.map((u) => [u.id, u.name, u.role, mfaText(u), u.setup_pending ? 'pending' : 'done', u.created_at])));
    });

  users
    .command('remove <name>')
    .description('Remove a console user (and end their sessions).')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const removed = await client().request<{ id: string }>('DELETE', ref(name));
      if (flags.json) return writeJson(io.stdout, removed);
      writeLine(io.stdout, `Removed user ${name} (${removed.id}).`);
    });

  users
    .command('reset-mfa <name>')
    .description("Remove a user's second factors and end their sessions; they enrol again at the next sign-in.")
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const user = await client().request<UserView>('POST', `${ref(name)}/reset-mfa`);
      if (flags.json) return writeJson(io.stdout, user);
      writeLine(io.stdout, `Reset MFA for ${user.name}: TOTP, passkeys and recovery codes removed, sessions ended, lockout cleared.`);
    });
}
