import { VIRTUAL_KEY_PATTERN, hasValidChecksum } from '../../keys/index.js';
import { FakeKeys } from './fake-keys.js';
import { BASE62_CHARS, type PrefixRule } from './rule.js';

/** keywarden's own virtual keys: the shape comes from keys/, and only a valid checksum counts. */
export const keywardenVirtualKey: PrefixRule = {
  kind: 'prefix',
  id: 'keywarden-virtual-key',
  provider: 'keywarden',
  title: 'keywarden virtual key',
  description: 'A keywarden virtual key: grants access to the gateway within its scopes and budget.',
  docsUrl: 'https://github.com/keywarden/keywarden#virtual-keys',
  anchor: 'kw_',
  prefix: 'kw_',
  charset: BASE62_CHARS,
  shape: new RegExp(`^(?:${VIRTUAL_KEY_PATTERN.source})$`),
  validate: hasValidChecksum,
  fixtures: () => {
    const f = new FakeKeys(38);
    const key = f.virtualKey();
    const tampered = `${key.slice(0, 10)}${key[10] === 'a' ? 'b' : 'a'}${key.slice(11)}`;
    return {
      positive: [`KEYWARDEN_KEY=${key}`, `Authorization: Bearer ${key}`, `{"key":"${key}"}`],
      negative: [
        `KEYWARDEN_KEY=${tampered}`,
        `KEYWARDEN_KEY=${key.slice(0, -1)}`,
        `kw_${f.base62(38)}`,
        // Python's keyword-only markers and AST fields share the prefix.
        '@dataclass(kw_only=True)',
        'node.kw_defaults, node.kwonlyargs',
      ],
    };
  },
};
