import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { registerHook } from './hook.js';
import { registerScan } from './scan.js';

/** Reports a command's exit status back to runCli. */
export type SetStatus = (code: number) => void;

export type CommandRegistrar = (program: Command, io: CliIo, setStatus: SetStatus) => void;

const registrars: CommandRegistrar[] = [registerScan, registerHook];

export function registerCommands(program: Command, io: CliIo, setStatus: SetStatus): void {
  for (const register of registrars) register(program, io, setStatus);
}
