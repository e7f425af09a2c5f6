#!/usr/bin/env node
import { runCli } from './program.js';

// The only place that sets the process exit code.
const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = status;
