import { KeywardenError } from '../errors/index.js';
import { generateKeyId, generateVirtualKey, hashVirtualKey } from '../keys/index.js';
import type { KeyLimits } from '../limits/schema.js';
import type { VirtualKeyRecord } from '../store/index.js';
import { parseDuration } from '../util/duration.js';
import { narrowScopes } from './child-scope.js';
import { keyStatus } from './key-view.js';
import type { CreateChildKeyInput } from './schemas.js';

/** Ephemeral keys are for minutes or hours; a day is the ceiling (a longer-lived key should be a real key). */
export const MAX_CHILD_TTL_MS = 24 * 60 * 60 * 1000;

function ttlMs(ttl: string | number): number {
  // A number is seconds, as in OpenAI's own `expires_after`; a string is a duration such as 15m.
  const ms = typeof ttl === 'number' ? ttl * 1000 : parseDuration(ttl);
  if (ms === null || !Number.isFinite(ms) || ms <= 0) throw new KeywardenError('KW_VALIDATION', { message: 'ttl: expected a duration such as 15m', param: 'ttl' });
  if (ms > MAX_CHILD_TTL_MS) throw new KeywardenError('KW_VALIDATION', { message: 'ttl: at most 24h', param: 'ttl' });
  return ms;
}

/**
 * A child key of `parent`: scopes narrowed (child-scope.ts), the parent's rate limits and rules kept, its own
 * budget no larger than any of the parent's (and the parent's budgets bind it anyway: limits/child-budgets.ts),
 * expiry at the TTL but never after the parent's. Only an active, ordinary, top-level key can have children.
 */
export function mintChild(parent: VirtualKeyRecord, input: CreateChildKeyInput, now: number, pepper: Buffer): { record: VirtualKeyRecord; secret: string } {
  if (parent.canary === true) throw new KeywardenError('KW_VALIDATION', { message: 'A canary key cannot have child keys.' });
  if (parent.parentId) throw new KeywardenError('KW_VALIDATION', { message: 'A child key cannot have child keys of its own.' });
  const status = keyStatus(parent, now);
  if (status !== 'active') throw new KeywardenError('KW_VALIDATION', { message: `The parent key is ${status}.` });

  const expiresAt = Math.min(now + ttlMs(input.ttl), parent.expiresAt ?? Infinity);
  const scopes = narrowScopes(parent.scopes, input);
  const { budgets: parentBudgets, ...inherited } = parent.limits as KeyLimits;
  const limits: KeyLimits = { ...inherited };
  if (input.budget_usd !== undefined) {
    const smallest = Math.min(...(parentBudgets ?? []).map((b) => b.usd));
    if (input.budget_usd > smallest) {
      throw new KeywardenError('KW_VALIDATION', { message: `budget_usd: a child's budget cannot exceed its parent's ($${smallest}).`, param: 'budget_usd' });
    }
    limits.budgets = [{ usd: input.budget_usd, period: 'lifetime' }];
  }
  const secret = generateVirtualKey();
  const record: VirtualKeyRecord = {
    id: generateKeyId(),
    name: input.name ?? `${parent.name} (child)`,
    hash: hashVirtualKey(secret, pepper),
    last4: secret.slice(-4),
    previousHash: null,
    previousHashExpiresAt: null,
    upstreamId: parent.upstreamId,
    // A child travels the parent's routes and counts against the parent's project, like the parent itself.
    fallbackUpstreamIds: parent.fallbackUpstreamIds,
    projectId: parent.projectId ?? null,
    scopes,
    limits: limits,
    metadata: input.metadata ?? {},
    createdAt: now,
    updatedAt: now,
    expiresAt,
    revokedAt: null,
    suspendedAt: null,
    suspendedReason: null,
    rotatedAt: null,
    parentId: parent.id,
  };
  return { record, secret };
}
