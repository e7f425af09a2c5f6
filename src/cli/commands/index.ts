import type { Command } from 'commander';
import type { CliIo } from '../io.js';

/** Reports a command's exit status back to runCli. */
export type SetStatus = (code: number) => void;

export type CommandRegistrar = (program: Command, io: CliIo, setStatus: SetStatus) => void;

/**
 * Top-level commands and how to load each. Modules are imported only when needed: `keywarden scan` in a
 * pre-commit hook must not pay for loading the gateway, the admin client or the monitor.
 */
const COMMANDS: Record<string, () => Promise<CommandRegistrar>> = {
  serve: async () => (await import('./serve.js')).registerServe,
  keys: async () => (await import('./keys.js')).registerKeys,
  upstreams: async () => (await import('./upstreams.js')).registerUpstreams,
  usage: async () => (await import('./usage.js')).registerUsage,
  vault: async () => (await import('./vault.js')).registerVault,
  alerts: async () => (await import('./alerts.js')).registerAlerts,
  audit: async () => (await import('./audit.js')).registerAudit,
  tokens: async () => (await import('./tokens.js')).registerTokens,
  users: async () => (await import('./users.js')).registerUsers,
  projects: async () => (await import('./projects.js')).registerProjects,
  scan: async () => (await import('./scan.js')).registerScan,
  hook: async () => (await import('./hook.js')).registerHook,
  init: async () => (await import('./init.js')).registerInit,
  providers: async () => (await import('./providers.js')).registerProviders,
  doctor: async () => (await import('./doctor.js')).registerDoctor,
  run: async () => (await import('./run.js')).registerRun,
};

/** Registers the command named by the first argument, or all of them (for help and unknown commands). */
export async function registerCommands(program: Command, io: CliIo, setStatus: SetStatus, first: string | undefined): Promise<void> {
  const only = first !== undefined ? COMMANDS[first] : undefined;
  const loaders = only ? [only] : Object.values(COMMANDS);
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program, io, setStatus);
}
