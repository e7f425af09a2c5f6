import { describe, expect, it } from 'vitest';
import { FakeKeys } from '../rules/fake-keys.js';
import { scanText } from './engine.js';

const f = new FakeKeys(4242);
const proj = f.openaiProject();
const anthropic = f.anthropic();
const groq = f.groq();
const head = proj.slice(0, 40);
const tail = proj.slice(40);

function found(text: string): Array<[string, string, number]> {
  return scanText(text).map((x) => [x.ruleId, x.secret, x.line]);
}

describe('keys split over string literals are joined before matching', () => {
  it.each([
    ['JS/TS/Java/Go +', `const key = "${head}" + "${tail}";`],
    ['JS + over two lines, operator leading', `const key = '${head}'\n  + '${tail}';`],
    ['JS + over two lines, operator trailing', `String key = "${head}" +\n    "${tail}";`],
    ['template literals', 'const key = `' + head + '` + `' + tail + '`;'],
    ['PHP .', `$key = '${head}' . '${tail}';`],
    ['PHP . without blanks', `$key = '${head}'.'${tail}';`],
    ['Python implicit, one line', `key = "${head}" "${tail}"`],
    ['shell adjacent quotes', `export OPENAI_API_KEY="${head}"'${tail}'`],
    ['Python \\ continuation between literals', `key = "${head}" \\\n    "${tail}"`],
    ['\\ continuation inside a literal (C, shell, Python)', `key = "${head}\\\n${tail}"`],
    ['CRLF line endings', `key = ("${head}"\r\n       "${tail}")`],
  ])('%s', (_name, text) => {
    expect(found(text)).toEqual([['openai-project-key', proj, 1]]);
  });

  it('joins Python implicit concatenation over two lines inside parentheses, reporting the first line only once', () => {
    const text = `import os\nclient = OpenAI(api_key=(\n    "${head}"\n    "${tail}"\n))\n`;
    const findings = scanText(text);
    expect(findings.map((x) => [x.secret, x.line, x.column])).toEqual([[proj, 3, 6]]);
    // The span stays on the first line: it ends at that line's closing quote, not somewhere on the next line.
    expect(findings[0]?.endColumn).toBe(6 + head.length);
  });

  it('joins three and more pieces, the prefix alone in the first', () => {
    const a = anthropic.slice(0, 14);
    const b = anthropic.slice(14, 60);
    const c = anthropic.slice(60);
    expect(found(`k = "${a}" + "${b}" + "${c}"`)).toEqual([['anthropic-api-key', anthropic, 1]]);
    expect(found(`k = 'gsk_' + '${groq.slice(4)}'`)).toEqual([['groq-api-key', groq, 1]]);
  });

  it('maps the finding to the original line and column of its first piece', () => {
    const text = `line one\nline two\n  x = "${head}" + "${tail}"\n`;
    const [finding] = scanText(text);
    expect(finding).toMatchObject({ line: 3, column: 8, secret: proj });
  });

  it('still reports a whole key followed by an unrelated literal, unchanged', () => {
    expect(found(`echo "${proj}" "--model"`)).toEqual([['openai-project-key', proj, 1]]);
    expect(found(`call("${proj}", "${f.base62(30)}")`)).toEqual([['openai-project-key', proj, 1]]);
  });

  it('does not join a whole key with the next mapping key on the following line (dict, JSON, YAML)', () => {
    // Found by bench:scan's corpus: the key came out as `sk-…` + `token_config`, so neither the key nor its
    // fingerprint matched what was planted.
    expect(found(`os.environ["OPENAI_API_KEY"] = '${proj}'\n  "token_config": 7885,`)).toEqual([['openai-project-key', proj, 1]]);
    expect(found(`cfg = {"key": "${proj}"\n "model" : "gpt-4o"}`)).toEqual([['openai-project-key', proj, 1]]);
    // A split key whose second piece is a plain value still joins.
    expect(found(`cfg = ("${head}"\n       "${tail}")`)).toEqual([['openai-project-key', proj, 1]]);
  });

  it('does not join across a variable or a call between the literals', () => {
    // Only the direct (cut) match remains possible, and sk-proj- + 6 characters is below the rule's length.
    expect(found(`k = "${proj.slice(0, 14)}" + suffix + "${proj.slice(14)}"`)).toEqual([]);
    expect(found(`k = "${proj.slice(0, 14)}", "${proj.slice(14)}"`)).toEqual([]);
  });

  it('rejects a joined placeholder and a joined truncated key', () => {
    expect(found(`k = "sk-proj-" + "${'x'.repeat(60)}"`)).toEqual([]);
    expect(found(`k = "sk-proj-" + "your-api-key-here-and-more-words"`)).toEqual([]);
    expect(found(`k = "sk-proj-" + "${tail.slice(0, 40)}..."`)).toEqual([]);
  });

  it('honours keywarden:allow on the first piece line', () => {
    expect(found(`k = "${head}" + "${tail}" # keywarden:allow`)).toEqual([]);
  });

  it('stays bounded on thousands of chained literals and on an unterminated chain', () => {
    const chain = `k = "sk-proj-${'"+"ab'.repeat(20_000)}"`;
    const start = performance.now();
    scanText(chain);
    scanText(`k = "sk-proj-${'a'.repeat(40)}" +${' '.repeat(100_000)}`);
    scanText(`${'"sk-" + "'.repeat(20_000)}`);
    expect(performance.now() - start).toBeLessThan(5_000);
  });
});

describe('nested encodings are decoded to a bounded depth', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  it('finds a key in a .dockerconfigjson auth (base64 inside base64)', () => {
    const auth = b64(`token:${proj}`);
    const config = JSON.stringify({ auths: { 'registry.example.com': { username: 'token', password: 'x', auth } } });
    const text = `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${b64(config)}\n`;
    const findings = scanText(text);
    expect(findings.map((x) => [x.secret, x.encoding, x.line])).toEqual([[proj, 'base64', 5]]);
  });

  it('finds a key three encodings deep but not four', () => {
    const three = b64(`wrapper ${b64(`inner ${b64(`OPENAI_API_KEY=${proj}`)}`)}`);
    expect(scanText(`blob: ${three}`).map((x) => x.secret)).toEqual([proj]);
    const four = b64(`level ${three}`);
    expect(scanText(`blob: ${four}`)).toEqual([]);
  });

  it('decodes nothing when decoding is off', () => {
    expect(scanText(`blob: ${b64(`a ${b64(`k=${proj}`)}`)}`, { decode: false })).toEqual([]);
  });
});
