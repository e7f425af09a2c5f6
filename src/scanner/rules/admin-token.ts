import { crc32 } from 'node:zlib';
import { encodeBase62 } from '../../keys/base62.js';
import { ADMIN_TOKEN_PATTERN, isChecksummedAdminToken } from '../../keys/admin-token-format.js';
import { FakeKeys } from './fake-keys.js';
import { BASE62_CHARS, type PrefixRule } from './rule.js';

/** keywarden admin tokens: the shape comes from keys/admin-token-format.ts, and only a valid checksum counts. */
export const keywardenAdminToken: PrefixRule = {
  kind: 'prefix',
  id: 'keywarden-admin-token',
  provider: 'keywarden',
  title: 'keywarden admin token',
  description: 'A keywarden admin token: manages virtual keys, upstream provider keys and the audit log, depending on its role.',
  docsUrl: 'https://github.com/keywarden/keywarden#admin-tokens',
  anchor: 'kwadm_',
  prefix: 'kwadm_',
  charset: BASE62_CHARS,
  shape: new RegExp(`^(?:${ADMIN_TOKEN_PATTERN.source})$`),
  validate: isChecksummedAdminToken,
  fixtures: () => {
    const f = new FakeKeys(52);
    const token = f.adminToken();
    const body = token.slice(6, 46);
    const flipped = `${token.slice(0, 12)}${token[12] === 'a' ? 'b' : 'a'}${token.slice(13)}`;
    return {
      positive: [`KEYWARDEN_ADMIN_TOKEN=${token}`, `Authorization: Bearer ${token}`, `{"token":"${token}"}`],
      negative: [
        // One character changed: the checksum no longer matches.
        `KEYWARDEN_ADMIN_TOKEN=${flipped}`,
        // Truncated by one character.
        `KEYWARDEN_ADMIN_TOKEN=${token.slice(0, -1)}`,
        // Right shape, made-up checksum.
        `KEYWARDEN_ADMIN_TOKEN=kwadm_${f.base62(46)}`,
        // One character too long.
        `KEYWARDEN_ADMIN_TOKEN=${token}x`,
        // A different prefix.
        `KEYWARDEN_ADMIN_TOKEN=kwadmin_${body}${encodeBase62(crc32(body), 6)}`,
        // A placeholder in docs.
        'KEYWARDEN_ADMIN_TOKEN=kwadm_...',
      ],
    };
  },
};
