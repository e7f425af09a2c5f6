import type { Context } from 'hono';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { z } from 'zod';
import { KeywardenError } from '../errors/index.js';
import type { ChallengePurpose, PasskeyRecord, UserRecord } from '../store/index.js';
import type { ConsoleAuth } from './console-auth.js';
import type { RequestFacts } from './request-context.js';
import type { CurrentSession } from './session-access.js';

/** A ceremony must finish within this time; each challenge is stored once and consumed by its answer. */
const CHALLENGE_TTL_MS = 5 * 60_000;
const RP_NAME = 'keywarden';

const base64url = z.string().max(16_384).regex(/^[A-Za-z0-9_-]*$/);
/** Only the shape is checked here; @simplewebauthn/server verifies every byte. Unknown fields are dropped. */
const registrationResponseSchema = z.object({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.object({ clientDataJSON: base64url, attestationObject: base64url, transports: z.array(z.string().max(32)).max(8).optional() }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});
const authenticationResponseSchema = z.object({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.object({ clientDataJSON: base64url, authenticatorData: base64url, signature: base64url, userHandle: base64url.optional() }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

function parseResponse<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new KeywardenError('KW_VALIDATION', { message: 'response: not a WebAuthn credential response.', param: 'response' });
  return parsed.data;
}

/** The challenge the authenticator signed, read from clientDataJSON, so the stored challenge can be looked up and used once. */
function signedChallenge(clientDataJSON: string): string {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof data.challenge === 'string' && data.challenge.length <= 256) return data.challenge;
  } catch {
    // falls through to the refusal below
  }
  throw new KeywardenError('KW_INVALID_SECOND_FACTOR');
}

async function storeChallenge(auth: ConsoleAuth, challenge: string, purpose: ChallengePurpose, sessionIdHash: string | null, userId: string | null): Promise<void> {
  await auth.store.authTokens.insertChallenge({ challenge, purpose, sessionIdHash, userId, expiresAt: auth.now() + CHALLENGE_TTL_MS });
}

export async function registrationOptions(auth: ConsoleAuth, current: CurrentSession): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await auth.store.users.listPasskeys(current.user.id);
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: current.facts.rpId,
    userName: current.user.name,
    userID: new TextEncoder().encode(current.user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports as AuthenticatorTransport[] })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await storeChallenge(auth, options.challenge, 'register', current.record.idHash, current.user.id);
  return options;
}

/** Verifies a new passkey against the challenge this session was given, and stores it. */
export async function verifyRegistration(auth: ConsoleAuth, current: CurrentSession, raw: unknown, name: string | undefined): Promise<PasskeyRecord> {
  const response = parseResponse(registrationResponseSchema, raw) as RegistrationResponseJSON;
  const challenge = await auth.store.authTokens.consumeChallenge(signedChallenge(response.response.clientDataJSON), auth.now());
  if (!challenge || challenge.purpose !== 'register' || challenge.sessionIdHash !== current.record.idHash || challenge.userId !== current.user.id) {
    throw new KeywardenError('KW_INVALID_SECOND_FACTOR', { message: 'The passkey registration does not answer a challenge of this session; start again.' });
  }
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: current.facts.origin,
      expectedRPID: current.facts.rpId,
      requireUserVerification: false,
    });
  } catch (err) {
    throw new KeywardenError('KW_INVALID_SECOND_FACTOR', { message: 'The passkey registration could not be verified.', cause: err });
  }
  if (!verification.verified) throw new KeywardenError('KW_INVALID_SECOND_FACTOR', { message: 'The passkey registration could not be verified.' });
  const { credential } = verification.registrationInfo;
  if (await auth.store.users.getPasskey(credential.id)) throw new KeywardenError('KW_CONFLICT', { message: 'This passkey is already registered.' });
  const record: PasskeyRecord = {
    id: credential.id,
    userId: current.user.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: credential.transports ?? [],
    name: (name ?? 'passkey').slice(0, 64),
    createdAt: auth.now(),
    lastUsedAt: null,
  };
  await auth.store.users.insertPasskey(record);
  return record;
}

/** Options for a passkey assertion: a second factor or step-up (this user's passkeys), or passwordless (discoverable). */
export async function authenticationOptions(auth: ConsoleAuth, facts: RequestFacts, purpose: ChallengePurpose, current: CurrentSession | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allow = current ? await auth.store.users.listPasskeys(current.user.id) : [];
  const options = await generateAuthenticationOptions({
    rpID: facts.rpId,
    userVerification: purpose === 'login' ? 'required' : 'preferred',
    allowCredentials: allow.map((p) => ({ id: p.id, transports: p.transports as AuthenticatorTransport[] })),
  });
  await storeChallenge(auth, options.challenge, purpose, current?.record.idHash ?? null, current?.user.id ?? null);
  return options;
}

/**
 * Verifies an assertion: the challenge must be one this server issued for this purpose (and session), unused and
 * unexpired; origin and RP ID must be ours; the signature must check out; the signature counter must move forward
 * (stored atomically, so one assertion cannot be replayed on two replicas). Failures count toward lockout.
 */
export async function verifyPasskeyAssertion(
  auth: ConsoleAuth,
  c: Context,
  raw: unknown,
  expected: { purpose: ChallengePurpose; current: CurrentSession | null },
): Promise<UserRecord> {
  const facts = expected.current?.facts ?? auth.facts(c);
  await auth.guard.assertIpAllowed(facts.ip);
  const response = parseResponse(authenticationResponseSchema, raw) as AuthenticationResponseJSON;
  const passkey = await auth.store.users.getPasskey(response.id);
  const userId = expected.current?.user.id ?? passkey?.userId ?? null;
  if (userId !== null) await auth.guard.assertUnlocked(userId);
  const refuse = async (cause?: unknown): Promise<never> => {
    await auth.guard.fail(userId, facts.ip, 'second_factor');
    throw new KeywardenError('KW_INVALID_SECOND_FACTOR', { cause });
  };
  const challenge = await auth.store.authTokens.consumeChallenge(signedChallenge(response.response.clientDataJSON), auth.now());
  if (!challenge || challenge.purpose !== expected.purpose || !passkey) return refuse();
  if (expected.current && (challenge.sessionIdHash !== expected.current.record.idHash || passkey.userId !== expected.current.user.id)) return refuse();
  if (!expected.current && challenge.sessionIdHash !== null) return refuse();
  const userHandle = response.response.userHandle;
  if (userHandle !== undefined && Buffer.from(userHandle, 'base64url').toString('utf8') !== passkey.userId) return refuse();
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: facts.origin,
      expectedRPID: facts.rpId,
      credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: passkey.counter, transports: passkey.transports },
      // Passwordless: the passkey is both factors only when the authenticator verified the user (PIN, biometrics).
      requireUserVerification: expected.purpose === 'login',
    });
  } catch (err) {
    return refuse(err);
  }
  if (!verification.verified) return refuse();
  const { newCounter } = verification.authenticationInfo;
  if (!(await auth.store.users.advancePasskeyCounter(passkey.id, passkey.counter, newCounter, auth.now()))) return refuse();
  const user = await auth.store.users.get(passkey.userId);
  if (!user) return refuse();
  await auth.guard.succeed(user.id, 'second_factor');
  return user;
}
