import { z } from 'zod';

/**
 * Config `ui`: the web console served by `keywarden serve` at `/`. `publicUrl` is the address users open (behind a
 * proxy or TLS terminator); links and the WebAuthn origin derive from it.
 */
export const uiServeFields = {
  enabled: z.boolean().default(true),
  publicUrl: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u) && !new URL(u).search && !new URL(u).hash, { message: 'expected an http(s) URL without query or fragment' })
    .optional(),
};
