import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { registerAlerts } from './alerts.js';
import { registerAudit } from './audit.js';
import { registerKeys } from './keys.js';
import { registerServe } from './serve.js';
import { registerUpstreams } from './upstreams.js';
import { registerUsage } from './usage.js';
import { registerVault } from './vault.js';

/** Reports a command's exit status back to runCli. */
export type SetStatus = (code: number) => void;

export type CommandRegistrar = (program: Command, io: CliIo, setStatus: SetStatus) => void;

const registrars: CommandRegistrar[] = [
  registerServe,
  registerKeys,
  registerUpstreams,
  registerUsage,
  registerVault,
  registerAlerts,
  registerAudit,
];

export function registerCommands(program: Command, io: CliIo, setStatus: SetStatus): void {
  for (const register of registrars) register(program, io, setStatus);
}
