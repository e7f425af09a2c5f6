import { createHash, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

export interface AssertionOptions {
  /** Override the challenge the authenticator signs (a forged or foreign challenge). */
  challenge?: string;
  origin?: string;
  rpId?: string;
  /** Use this counter instead of the next one (a cloned authenticator, a replay). */
  counter?: number;
  userVerified?: boolean;
  /** Sign with another key than the registered one. */
  signWith?: KeyObject;
  type?: string;
}

/**
 * A software passkey (ES256, "none" attestation): builds the exact bytes a browser and authenticator would send,
 * so the server's @simplewebauthn verification runs for real, and each field can be forged on purpose.
 */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  counter = 0;
  userHandle: string | undefined;

  constructor(
    private readonly origin: string,
    private readonly rpId: string,
  ) {}

  get id(): string {
    return b64url(this.credentialId);
  }

  private coseKey(): Uint8Array {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]);
    return isoCBOR.encode(cose);
  }

  private authData(rpId: string, flags: number, counter: number, attested: boolean): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    const parts = [sha256(rpId), Buffer.from([flags]), count];
    if (attested) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, Buffer.from(this.coseKey()));
    }
    return Buffer.concat(parts);
  }

  /** The answer to PublicKeyCredentialCreationOptionsJSON. */
  register(options: { challenge: string; user?: { id: string } }, overrides: { origin?: string } = {}): Record<string, unknown> {
    this.userHandle = options.user?.id;
    const clientData = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: overrides.origin ?? this.origin, crossOrigin: false });
    const attestation = isoCBOR.encode(
      new Map<string, string | Map<string, never> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, never>()],
        ['authData', this.authData(this.rpId, FLAG_UP | FLAG_UV | FLAG_AT, this.counter, true)],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(Buffer.from(clientData)), attestationObject: b64url(attestation), transports: ['internal'] },
      clientExtensionResults: {},
    };
  }

  /** The answer to PublicKeyCredentialRequestOptionsJSON; each call moves the counter on unless told otherwise. */
  assert(options: { challenge: string }, forged: AssertionOptions = {}): Record<string, unknown> {
    const counter = forged.counter ?? ++this.counter;
    const clientData = Buffer.from(JSON.stringify({ type: forged.type ?? 'webauthn.get', challenge: forged.challenge ?? options.challenge, origin: forged.origin ?? this.origin, crossOrigin: false }));
    const flags = FLAG_UP | (forged.userVerified === false ? 0 : FLAG_UV);
    const authData = this.authData(forged.rpId ?? this.rpId, flags, counter, false);
    const signer = createSign('sha256');
    signer.update(Buffer.concat([authData, sha256(clientData)]));
    const signature = signer.sign(forged.signWith ?? this.keys.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
    };
  }
}

export function otherKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}
