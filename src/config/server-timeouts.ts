import { z } from 'zod';

const ms = z.number().int().positive();

/**
 * Timeouts of the client-facing HTTP server and the admin body cap, spread into `server` in the config schema.
 * The defaults follow what long-lived proxies ship with, tightened where keywarden's clients (SDKs sending
 * small JSON bodies in one go) make a slow client almost certainly a hostile one.
 */
export const serverTimeoutFields = {
  /**
   * Time for a client to send its complete request headers (slowloris). Apache's mod_reqtimeout starts at 20 s;
   * Node and nginx use 60 s. SDKs send headers in one packet, so 20 s is generous.
   */
  headersTimeoutMs: ms.default(20_000),
  /**
   * A request body must start arriving within this time, and each further `bodyMinBytesPerSecond` bytes buy one
   * more second (mod_reqtimeout's `body=20,MinRate=500`; nginx's client_body_timeout is 60 s between reads). A
   * client dripping a byte a second is cut; an honest slow uplink is not.
   */
  bodyTimeoutMs: ms.default(20_000),
  bodyMinBytesPerSecond: z.number().int().nonnegative().default(500),
  /**
   * Absolute backstop for receiving a whole request, headers and body (Node's own default, 300 s), so no
   * combination of rates keeps one request's upload open for longer.
   */
  requestTimeoutMs: ms.default(300_000),
  /**
   * Idle time before a keep-alive connection is closed. 65 s is longer than the 60 s idle timeout of common load
   * balancers (AWS ALB, GCP), so a balancer never reuses a connection the gateway is closing.
   */
  keepAliveTimeoutMs: ms.default(65_000),
  /**
   * Optional overall deadline for one /v1 request, from its arrival to the last byte of the answer (envoy's
   * route timeout idea). Off (0) by default: a long reasoning stream is legitimate, and the upstream header and
   * body timeouts already cut a silent upstream. When set, a stream that never ends is cut at the deadline and
   * settled as a cut stream.
   */
  requestDeadlineMs: z.number().int().nonnegative().default(0),
  /** Cap on admin API request bodies; refused by Content-Length before reading, or as soon as it is crossed. */
  adminMaxBodyBytes: z.number().int().positive().default(1_048_576),
};
