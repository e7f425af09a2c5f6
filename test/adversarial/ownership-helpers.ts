import OpenAI from 'openai';
import { expect } from 'vitest';
import { apiErrorOf } from '../support/api-error.js';
import type { Harness } from '../support/gateway-harness.js';

/** Every endpoint group, so the ownership stage (not an endpoint scope) is what stops a foreign key. */
export const ALL_GROUPS = ['*'];

export interface TwoKeys {
  a: OpenAI;
  b: OpenAI;
  aId: string;
  bId: string;
  aSecret: string;
  bSecret: string;
}

export async function twoKeys(h: Harness, extra: Record<string, unknown> = {}): Promise<TwoKeys> {
  const a = await h.createKey({ name: 'app-a', endpoints: ALL_GROUPS, ...extra });
  const b = await h.createKey({ name: 'app-b', endpoints: ALL_GROUPS, ...extra });
  return { a: h.client(a.key), b: h.client(b.key), aId: a.id, bId: b.id, aSecret: a.key, bSecret: b.key };
}

/**
 * The call must be refused by the gateway with OpenAI's not-found shape, without reaching the upstream; returns
 * the error message with the id blanked, so callers can compare foreign and unknown ids (no existence oracle).
 */
export async function expectGatewayNotFound(h: Harness, call: () => Promise<unknown>, id?: string): Promise<string> {
  const before = h.fake.requestCount;
  const err = await apiErrorOf(call());
  expect(err.status).toBe(404);
  expect(err.code).toBe('not_found');
  expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  expect((err.error as { type?: string }).type).toBe('invalid_request_error');
  expect(h.fake.requestCount).toBe(before);
  return id === undefined ? err.message : err.message.split(id).join('<id>');
}

/** Collects every item of a paginated list (the SDK follows `after` cursors), bounded. */
export async function collectIds(pages: AsyncIterable<{ id: string }>, max = 500): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of pages) {
    ids.push(item.id);
    if (ids.length >= max) break;
  }
  return ids;
}
