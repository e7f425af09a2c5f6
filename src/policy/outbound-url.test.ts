import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedConnect, type OutboundLookup } from './outbound-connect.js';
import { createOutboundPolicy, maskUrlUserinfo, parseAllowEntry } from './outbound-url.js';

const strict = createOutboundPolicy({ allow: [] });

function refused(url: string, policy = strict): string {
  const verdict = policy.checkUrl(url);
  if (verdict.ok) throw new Error(`expected ${url} to be refused`);
  return verdict.reason;
}

describe('outbound URL policy: refused without an allowlist', () => {
  it.each(['file:///etc/passwd', 'gopher://example.com:70/_x', 'ftp://example.com/', 'data:text/plain,hi', 'javascript:alert(1)', 'ws://example.com/', 'not a url', ''])(
    'refuses the scheme or shape of %s',
    (url) => {
      expect(refused(url)).toMatch(/scheme|valid absolute URL/);
    },
  );

  it.each([
    'https://user:pass@api.openai.com/v1',
    'https://sk-secret@api.openai.com/v1',
    'https://@api.openai.com/v1',
    'https://:pw@api.openai.com/v1',
    'https:\\\\user@api.openai.com/v1',
  ])('refuses userinfo in %s, and never repeats it', (url) => {
    const reason = refused(url);
    expect(reason).toMatch(/credentials/);
    expect(reason).not.toMatch(/user|pass|sk-secret|pw/);
    expect(maskUrlUserinfo(url)).not.toMatch(/user|pass|sk-secret|pw/);
  });

  it('refuses fragments, including an empty one', () => {
    expect(refused('https://api.openai.com/v1#frag')).toMatch(/fragment/);
    expect(refused('https://api.openai.com/v1#')).toMatch(/fragment/);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'https://169.254.169.254/',
    'https://2852039166/',
    'https://0xa9fea9fe/',
    'https://0xa9.0xfe.0xa9.0xfe/',
    'https://0251.0376.0251.0376/',
    'https://169.254.169.254./',
    'https://169.254.43518/',
    'https://%31%36%39.254.169.254/',
    'https://[::ffff:a9fe:a9fe]/',
    'https://[::ffff:169.254.169.254]/',
    'https://[0:0:0:0:0:ffff:a9fe:a9fe]/',
    'https://[::a9fe:a9fe]/',
    'https://[64:ff9b::a9fe:a9fe]/',
    'https://[2002:a9fe:a9fe::1]/',
    'https://[fd00:ec2::254]/',
    'https://100.100.100.200/',
    'https://192.0.0.192/',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://METADATA.google.internal./',
    'https://metadata/',
    'https://instance-data/',
  ])('refuses the metadata service at %s', (url) => {
    expect(refused(url)).toMatch(/private|local|internal|reserved/);
  });

  it.each([
    'https://127.0.0.1/',
    'https://127.1/',
    'https://0x7f000001/',
    'https://2130706433/',
    'https://0/',
    'https://0.0.0.0/',
    'https://[::]/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://10.1.2.3/',
    'https://172.16.0.1/',
    'https://192.168.1.1/',
    'https://100.64.0.1/',
    'https://[fe80::1]/',
    'https://[fc00::1]/',
    'https://[fec0::1]/',
    'https://224.0.0.1/',
    'https://[ff02::1]/',
    'https://255.255.255.255/',
    'https://198.18.0.1/',
    'https://localhost/',
    'https://localhost./',
    'https://LOCALHOST../',
    'https://api.localhost/',
    'https://printer.local/',
    'https://llm.internal/',
    'https://ollama/',
    'https://router.home.arpa/',
  ])('refuses the internal destination %s', (url) => {
    expect(refused(url)).toMatch(/private|local|internal|reserved/);
  });

  it('refuses plain http to a public host, and very long URLs', () => {
    expect(refused('http://api.openai.com/v1')).toMatch(/plain http/);
    expect(refused(`https://api.openai.com/${'a'.repeat(5000)}`)).toMatch(/longer/);
  });

  it('accepts the official hosts and public https URLs', () => {
    for (const url of ['https://api.openai.com/v1', 'https://my-res.openai.azure.com', 'https://hooks.slack.com/services/T/B/x', 'https://8.8.8.8/', 'https://[2606:4700::1111]/'])
      expect(strict.checkUrl(url).ok).toBe(true);
  });
});

describe('outbound URL policy: the allowlist', () => {
  const policy = createOutboundPolicy({ allow: ['10.0.0.0/8', 'llm.internal:8443', 'http://localhost:11434', '*.corp.example', '127.0.0.1', 'fd12::/16'] });

  it('allows listed ranges, names and ports, over http too', () => {
    for (const url of [
      'http://10.1.2.3:8000/v1',
      'https://10.255.0.1/v1',
      'https://llm.internal:8443/v1',
      'http://LLM.internal.:8443/v1',
      'http://localhost:11434/v1',
      'https://gpu.corp.example/v1',
      'http://127.0.0.1:9999/v1',
      'http://[::ffff:127.0.0.1]:9999/v1',
      'http://[fd12::5]/v1',
    ]) {
      expect(policy.checkUrl(url), url).toMatchObject({ ok: true });
    }
  });

  it('does not stretch an entry beyond what it says', () => {
    expect(refused('https://llm.internal/v1', policy)).toMatch(/internal/);
    expect(refused('http://localhost:11435/v1', policy)).toMatch(/local/);
    expect(refused('https://169.254.169.254/', policy)).toMatch(/private/);
    expect(refused('http://gpu.corp.example.evil/', policy)).toMatch(/plain http/);
    expect(refused('http://evilcorp.example/', policy)).toMatch(/plain http/);
    expect(refused('https://user:pw@llm.internal:8443/', policy)).toMatch(/credentials/);
    expect(refused('file:///etc/passwd', policy)).toMatch(/scheme/);
    expect(policy.isAddressAllowed('10.9.9.9')).toBe(true);
    expect(policy.isAddressAllowed('::ffff:10.9.9.9')).toBe(true);
    expect(policy.isAddressAllowed('11.0.0.1')).toBe(true);
    expect(policy.isAddressAllowed('192.168.0.1')).toBe(false);
    expect(policy.isAddressAllowed('not-an-ip')).toBe(false);
  });

  it('rejects malformed entries with a message', () => {
    for (const entry of ['', '10.0.0.0/99', 'ftp://host', 'https://user@host', 'https://host/path', 'a b', 'x'.repeat(400)]) {
      expect(typeof parseAllowEntry(entry), entry).toBe('string');
    }
    expect(() => createOutboundPolicy({ allow: ['10.0.0.0/99'] })).toThrow(/outbound.allow/);
  });

  it('masks userinfo of stored URLs, parseable or not', () => {
    expect(maskUrlUserinfo('https://user:pass@api.example.com/v1')).toBe('https://***@api.example.com/v1');
    expect(maskUrlUserinfo('https://a@b@c.example/v1')).toBe('https://***@c.example/v1');
    expect(maskUrlUserinfo('ht!tp://u:p@x')).toBe('ht!tp://***@x');
    expect(maskUrlUserinfo('u:p@host/x')).toBe('***@host/x');
    expect(maskUrlUserinfo('https:user:pw@host/x')).toBe('https:***@host/x');
    expect(maskUrlUserinfo('https://api.openai.com/v1?x=@y')).toBe('https://api.openai.com/v1?x=@y');
  });
});

describe('outbound connect guard (DNS rebinding)', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // A resolver that answers like a rebinding attacker's DNS: a public-looking name that points at loopback.
  const asked: string[] = [];
  const rebinding: OutboundLookup = (hostname, _options, callback) => {
    asked.push(hostname);
    if (hostname === 'public.example') callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else if (hostname === 'mixed.example') callback(null, [{ address: '8.8.8.8', family: 4 }, { address: '169.254.169.254', family: 4 }]);
    else callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
  };

  async function get(url: string, allow: string[]): Promise<number | string> {
    const policy = createOutboundPolicy({ allow });
    const agent = new Agent({ connect: guardedConnect(policy, { lookup: rebinding, timeout: 2_000 }) });
    try {
      const res = await request(url, { dispatcher: agent });
      await res.body.text();
      return res.statusCode;
    } catch (err) {
      return (err as { code?: string }).code ?? 'error';
    } finally {
      await agent.close();
    }
  }

  it('refuses a name that resolves to loopback at connect time; nothing reaches the listener', async () => {
    hits = 0;
    expect(await get(`http://public.example:${port}/`, [])).toBe('EOUTBOUNDREFUSED');
    expect(await get(`http://mixed.example:${port}/`, [])).toBe('EOUTBOUNDREFUSED');
    expect(await get(`http://127.0.0.1:${port}/`, [])).toBe('EOUTBOUNDREFUSED');
    expect(await get(`http://[::ffff:127.0.0.1]:${port}/`, [])).toBe('EOUTBOUNDREFUSED');
    expect(hits).toBe(0);
    expect(asked).toContain('public.example');
  });

  it('connects when the address or the name is allowlisted', async () => {
    hits = 0;
    expect(await get(`http://public.example:${port}/`, ['127.0.0.0/8'])).toBe(200);
    expect(await get(`http://public.example:${port}/`, [`public.example:${port}`])).toBe(200);
    expect(await get(`http://127.0.0.1:${port}/`, ['127.0.0.1'])).toBe(200);
    expect(hits).toBe(3);
    // A name allowed on one port is not allowed on another.
    expect(await get(`http://public.example:${port}/`, ['public.example:1'])).toBe('EOUTBOUNDREFUSED');
  });
});
