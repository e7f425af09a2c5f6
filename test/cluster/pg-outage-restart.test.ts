// A gateway process killed (SIGKILL) while PostgreSQL is down and its usage is being spilled to disk, then started
// again after PostgreSQL returns: every record that was on disk at the kill is replayed into PostgreSQL, exactly
// once, and the spill file is removed. What the killed process still held in memory (at most
// store.outageBuffer.maxRecords) dies with it: that is the bound's meaning, and the test checks it holds. With the
// default bound (0) every record is on disk as soon as it is recorded, so the kill loses none.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAYING_FILE_NAME, SPILL_FILE_NAME } from '../../src/store/outage/usage-spill-file.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { acquireTestPostgres, releaseTestPostgres, type TestPostgres } from '../support/postgres-server.js';
import { waitFor } from '../support/wait-for.js';
import { spawnServe, type ServeProcess } from '../server/spawn-serve.js';
import { adminFetch } from '../support/admin-fetch.js';

const upstreamKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
const adminToken = `kwadm_${randomBytes(30).toString('base64url')}`;
const env = { KEYWARDEN_ADMIN_TOKEN: adminToken, KEYWARDEN_MASTER_KEY: randomBytes(32).toString('hex') };
let pg: TestPostgres;
let fake: FakeOpenAI;
let root: string;
const servers: ServeProcess[] = [];

beforeAll(async () => {
  pg = await acquireTestPostgres();
  fake = await startFakeOpenAI({ apiKeys: [upstreamKey] });
  root = await mkdtemp(path.join(tmpdir(), 'kw-outage-restart-'));
}, 30_000);
afterAll(async () => {
  for (const s of servers) s.child.kill('SIGKILL');
  // PostgreSQL may have been left stopped by a failed assertion: bring it back so the cluster can be destroyed.
  await pg.start().catch(() => undefined);
  await fake?.close();
  await releaseTestPostgres();
  await rm(root, { recursive: true, force: true });
}, 30_000);

const admin = adminFetch(adminToken);

function spilledIds(dir: string): string[] {
  const ids: string[] = [];
  for (const name of [REPLAYING_FILE_NAME, SPILL_FILE_NAME]) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.length > 0) ids.push((JSON.parse(line) as { id: string }).id);
    }
  }
  return ids;
}

describe('gateway killed during a PostgreSQL outage, restarted after it returns', () => {
  it.each([
    { bound: 'a memory bound of 10', MAX_RECORDS: 10 },
    { bound: 'the default bound (0: straight to disk)', MAX_RECORDS: 0 },
  ])('replays the spill file on start: every spilled record once, the file removed, no secret in it ($bound)', async ({ MAX_RECORDS }) => {
    const dir = await mkdtemp(path.join(root, 'data-'));
    const url = await pg.createDatabase();
    const configFile = path.join(dir, 'keywarden.json');
    const outageBuffer = MAX_RECORDS === 0 ? {} : { outageBuffer: { maxRecords: MAX_RECORDS } };
    await writeFile(configFile, JSON.stringify({ store: { url, outageKeyCacheMs: 120_000, ...outageBuffer } }));
    const first = await spawnServe(['--data', dir, '--config', configFile], env);
    servers.push(first);
    expect((await admin(first.url, 'POST', '/upstreams', { name: 'fake', provider: 'openai', base_url: fake.url, keys: [upstreamKey] })).status).toBe(201);
    const { id, key } = (await admin<{ id: string; key: string }>(first.url, 'POST', '/keys', { name: 'spilled' })).body;
    const client = new OpenAI({ apiKey: key, baseURL: `${first.url}/v1`, maxRetries: 0, timeout: 10_000 });
    const ask = (): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await ask();
    await waitFor(async () => (await pg.query(url, 'SELECT 1 FROM usage WHERE key_id = $1', [id])).rowCount === 1, { timeoutMs: 5000, what: 'the first record' });

    await pg.stop();
    // 80 requests during the outage, served from the key cache; their records go to memory, then to the file.
    for (let i = 0; i < 80; i++) await ask();
    // Wait for the retry loop to have moved everything it holds beyond the bound to disk.
    await waitFor(() => spilledIds(dir).length >= 80 - MAX_RECORDS, { timeoutMs: 5000, what: 'the records to be spilled' });
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    // What is on disk once the process is dead is what the restart must replay: read after the kill, since the
    // retry loop may still move records from memory to the file between the wait above and the kill.
    const onDisk = spilledIds(dir);
    expect(onDisk.length).toBeGreaterThanOrEqual(80 - MAX_RECORDS);
    expect(new Set(onDisk).size).toBe(onDisk.length);
    const text = [SPILL_FILE_NAME, REPLAYING_FILE_NAME].map((n) => (existsSync(path.join(dir, n)) ? readFileSync(path.join(dir, n), 'utf8') : '')).join('');
    for (const secret of [key, upstreamKey, adminToken]) expect(text).not.toContain(secret);

    await pg.start();
    const second = await spawnServe(['--data', dir, '--config', configFile], env);
    servers.push(second);
    await waitFor(() => spilledIds(dir).length === 0, { timeoutMs: 15_000, what: 'the spill file to be replayed and removed' });
    expect(existsSync(path.join(dir, SPILL_FILE_NAME))).toBe(false);
    expect(existsSync(path.join(dir, REPLAYING_FILE_NAME))).toBe(false);
    const rows = await pg.query(url, 'SELECT id FROM usage WHERE key_id = $1', [id]);
    const stored = rows.rows.map((r) => (r as { id: string }).id);
    // Every spilled record is there, once; besides them only the request before the outage and at most the
    // memory bound's worth of records lost with the killed process.
    expect(new Set(stored).size).toBe(stored.length);
    for (const spilled of onDisk) expect(stored).toContain(spilled);
    expect(stored.length).toBe(onDisk.length + 1);
    expect(81 - stored.length).toBeLessThanOrEqual(MAX_RECORDS);
    await second.stop();
  }, 90_000);
});
