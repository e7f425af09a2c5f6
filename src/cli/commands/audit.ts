import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseHeadAnchor, verifyChain, type AuditEntry, type HeadAnchor, type JsonValue, type VerifyResult } from '../../audit/index.js';
import { KeywardenError } from '../../errors/index.js';
import { AdminClient } from '../admin-client.js';
import { EXIT_FINDINGS, EXIT_OK, writeJson, writeLine, type CliIo } from '../io.js';
import type { SetStatus } from './index.js';

const exportLine = z.object({
  seq: z.number().int(),
  ts: z.number(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});

/** Entries of a JSON-lines export, in file order (the order the server stored them in). */
async function* readExport(file: string): AsyncGenerator<AuditEntry> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    let parsed: z.infer<typeof exportLine>;
    try {
      parsed = exportLine.parse(JSON.parse(line));
    } catch {
      throw new KeywardenError('KW_USAGE', { message: `${file}: line ${number} is not an audit entry` });
    }
    yield { ...parsed, before: (parsed.before ?? null) as JsonValue, after: (parsed.after ?? null) as JsonValue };
  }
}

/** File problems become usage errors that name the file, instead of "unexpected error". */
async function withFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KeywardenError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new KeywardenError('KW_USAGE', { message: `${file}: ${typeof code === 'string' ? code : 'cannot be read or written'}` });
  }
}

function anchorFlag(value: string | undefined): HeadAnchor | undefined {
  if (value === undefined) return undefined;
  const anchor = parseHeadAnchor(value);
  if (!anchor) throw new KeywardenError('KW_USAGE', { message: '--head: expected the hash printed by `keywarden audit head` (SEQ:HASH or HASH)' });
  return anchor;
}

function report(io: CliIo, result: VerifyResult, json: boolean | undefined): number {
  if (json) writeJson(io.stdout, result);
  else if (result.ok) {
    const head = result.head ? `${result.head.seq}:${result.head.hash}` : '(empty log)';
    writeLine(io.stdout, `Audit log intact: ${result.entries} entries, head ${head}${anchoring(result)}`);
  } else {
    writeLine(io.stdout, `Audit log TAMPERED at entry ${result.seq} (${result.reason}): ${result.message}`);
  }
  return result.ok ? EXIT_OK : EXIT_FINDINGS;
}

/** How much of the log the signed anchor vouches for (absent for offline checks of an export). */
function anchoring(result: VerifyResult & { ok: true }): string {
  if (result.anchored === undefined) return '';
  if (!result.anchored) return ' (not anchored: no signed head recorded yet)';
  const first = result.firstAnchoredSeq;
  const lastUnsigned = first === null || first === undefined ? (result.head?.seq ?? 0) : first - 1;
  if (lastUnsigned <= 0) return '; head matches the signed anchor';
  return `; head matches the signed anchor; entries 1-${lastUnsigned} predate anchoring (un-anchored: hash-chained only)`;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

export function registerAudit(program: Command, io: CliIo, setStatus: SetStatus): void {
  const audit = program.command('audit').description('The tamper-evident audit log.');
  const client = (): AdminClient => new AdminClient(io.env);

  audit
    .command('verify')
    .description('Check the hash chain; names the first entry that was edited, removed or reordered. Exit 1 if tampered.')
    .option('--head <hash>', 'a head saved earlier with `audit head` (SEQ:HASH or HASH): also catches a truncated tail')
    .option('--file <export.jsonl>', 'verify an exported copy instead of the server')
    .option('--json', 'print JSON')
    .action(async (flags: { head?: string; file?: string; json?: boolean }) => {
      const anchor = anchorFlag(flags.head);
      let result: VerifyResult;
      if (flags.file) {
        const file = path.resolve(io.cwd, flags.file);
        result = await withFile(file, () => verifyChain(readExport(file), anchor));
      }
      else {
        const query = flags.head ? `?head=${encodeURIComponent(flags.head)}` : '';
        result = await client().request<VerifyResult>('GET', `/audit/verify${query}`);
      }
      setStatus(report(io, result, flags.json));
    });

  audit
    .command('head')
    .description('Print the current head (SEQ:HASH). Store it elsewhere; `audit verify --head` checks against it.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const head = await client().request<{ seq: number; hash: string | null; anchor: string | null }>('GET', '/audit/head');
      if (flags.json) return writeJson(io.stdout, { seq: head.seq, hash: head.hash, anchor: head.anchor });
      writeLine(io.stdout, head.anchor ?? '(empty log)');
    });

  audit
    .command('export')
    .description('Write the whole log as JSON lines, in storage order (verifiable offline with `audit verify --file`).')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--json', 'with --out: print a JSON summary')
    .action(async (flags: { out?: string; json?: boolean }) => {
      const file = flags.out ? path.resolve(io.cwd, flags.out) : null;
      const handle = file ? await withFile(file, () => open(file, 'w', 0o600)) : null;
      const emit = (text: string): Promise<unknown> => (handle ? handle.write(text) : write(io.stdout, text));
      let entries = 0;
      try {
        let cursor: number | null = null;
        do {
          const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${cursor}`;
          const page: { data: unknown[]; next_cursor: number | null } = await client().request('GET', `/audit${query}`);
          await emit(page.data.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
          entries += page.data.length;
          cursor = page.next_cursor;
        } while (cursor !== null);
      } finally {
        await handle?.close();
      }
      if (!file) return;
      if (flags.json) writeJson(io.stdout, { entries, file });
      else writeLine(io.stdout, `Exported ${entries} audit entries to ${file}`);
    });
}
