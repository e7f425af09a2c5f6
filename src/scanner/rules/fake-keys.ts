import { crc32 } from 'node:zlib';
import { ADMIN_TOKEN_BODY_LENGTH, ADMIN_TOKEN_CHECKSUM_LENGTH, ADMIN_TOKEN_PREFIX, isChecksummedAdminToken } from '../../keys/admin-token-format.js';
import { BASE62_ALPHABET, VIRTUAL_KEY_CHECKSUM_LENGTH, VIRTUAL_KEY_PREFIX, encodeBase62, hasValidChecksum } from '../../keys/index.js';

const HEX = '0123456789abcdef';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const LOWER_ALNUM = '0123456789abcdefghijklmnopqrstuvwxyz';
const TOKEN = `${BASE62_ALPHABET}-_`;

/** mulberry32: tiny, fast and good enough to make reproducible fake keys and corpora. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds realistic but fake keys for every rule. Vendor markers are split across string literals on purpose, so
 * that this source file does not itself look like a leak to other scanners.
 */
export class FakeKeys {
  readonly random: () => number;

  constructor(seed = 42) {
    this.random = seededRandom(seed);
  }

  pick(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.random() * alphabet.length)];
    return out;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  base62(length: number): string {
    return this.pick(BASE62_ALPHABET, length);
  }

  hex(length: number): string {
    return this.pick(HEX, length);
  }

  openaiLegacy(): string {
    return `s${'k-'}${this.base62(20)}T3Blbk${'FJ'}${this.base62(20)}`;
  }

  /** Project keys come in several lengths; the newest carry the T3BlbkFJ marker in the middle. */
  openaiProject(): string {
    const long = this.random() < 0.7;
    const body = long ? `${this.pick(TOKEN, 74)}T3Blbk${'FJ'}${this.pick(TOKEN, 74)}` : this.pick(TOKEN, 48);
    return `s${'k-'}proj-${body}`;
  }

  openaiServiceAccount(): string {
    return `s${'k-'}svcacct-${this.pick(TOKEN, 74)}T3Blbk${'FJ'}${this.pick(TOKEN, 74)}`;
  }

  openaiAdmin(): string {
    return `s${'k-'}admin-${this.pick(TOKEN, 74)}T3Blbk${'FJ'}${this.pick(TOKEN, 74)}`;
  }

  anthropic(): string {
    return `s${'k-'}ant-api03-${this.pick(TOKEN, 93)}AA`;
  }

  anthropicAdmin(): string {
    return `s${'k-'}ant-admin01-${this.pick(TOKEN, 93)}AA`;
  }

  google(): string {
    return `AI${'za'}Sy${this.pick(TOKEN, 33)}`;
  }

  azure(): string {
    return this.hex(32);
  }

  huggingface(): string {
    return `h${'f_'}${this.pick(LETTERS, 34)}`;
  }

  huggingfaceOrg(): string {
    return `api_${'org_'}${this.pick(LETTERS, 34)}`;
  }

  groq(): string {
    return `gs${'k_'}${this.base62(52)}`;
  }

  replicate(): string {
    return `r8${'_'}${this.base62(37)}`;
  }

  openrouter(): string {
    return `s${'k-'}or-v1-${this.hex(64)}`;
  }

  perplexity(): string {
    return `pp${'lx-'}${this.base62(48)}`;
  }

  xai(): string {
    return `xa${'i-'}${this.base62(80)}`;
  }

  together(): string {
    return `tgp${'_v1_'}${this.pick(TOKEN, 43)}`;
  }

  togetherLegacy(): string {
    return this.hex(64);
  }

  fireworks(): string {
    return `f${'w_'}${this.base62(24)}`;
  }

  nvidia(): string {
    return `nv${'api-'}${this.pick(TOKEN, 64)}`;
  }

  cerebras(): string {
    return `cs${'k-'}${this.pick(LOWER_ALNUM, 48)}`;
  }

  deepseek(): string {
    return `s${'k-'}${this.hex(32)}`;
  }

  mistral(): string {
    return this.base62(32);
  }

  cohere(): string {
    return this.base62(40);
  }

  /**
   * A seeded virtual key. The checksum follows the keys/ format; hasValidChecksum confirms it, so a change of the
   * format fails loudly here instead of producing silently invalid fixtures.
   */
  virtualKey(): string {
    const body = this.base62(32);
    const key = `${VIRTUAL_KEY_PREFIX}${body}${encodeBase62(crc32(body), VIRTUAL_KEY_CHECKSUM_LENGTH)}`;
    if (!hasValidChecksum(key)) throw new Error('fake virtual key does not match the keys/ checksum format');
    return key;
  }

  /** A seeded admin token in the generated format (checked the same way as virtualKey). */
  adminToken(): string {
    const body = this.base62(ADMIN_TOKEN_BODY_LENGTH);
    const token = `${ADMIN_TOKEN_PREFIX}${body}${encodeBase62(crc32(body), ADMIN_TOKEN_CHECKSUM_LENGTH)}`;
    if (!isChecksummedAdminToken(token)) throw new Error('fake admin token does not match the admin token format');
    return token;
  }
}
