import { KeywardenError } from '../errors/index.js';

/**
 * The refusal for a client outside the key's IP allowlist names the address the gateway saw. It is not a secret
 * (the client sent from it), and without it a caller behind NAT, a proxy or on IPv6 cannot tell what to allow.
 * A hop from X-Forwarded-For (behind a trusted proxy) is not checked to be an address, so anything that does not
 * look like one is not echoed, and the value is clipped so a message never grows with input.
 */
const ADDRESS_LIKE = /^[0-9A-Za-z:.%_-]{1,64}$/;

export function ipNotAllowed(clientIp: string): KeywardenError {
  const shown = ADDRESS_LIKE.test(clientIp) ? clientIp : 'unknown';
  return new KeywardenError('KW_IP_NOT_ALLOWED', {
    message: `Requests from this IP address (${shown}) are not allowed for this key. An admin can add it with: keywarden keys update <key> --ip ${shown}`,
  });
}
