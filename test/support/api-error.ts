import OpenAI from 'openai';
import { expect } from 'vitest';

/** Awaits a call that must fail with an OpenAI SDK API error and returns that error for further checks. */
export async function apiErrorOf(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}
