import type { Admission } from '../limits/limiter.js';
import type { VirtualKeyRecord } from '../store/index.js';
import type { MediaRequest } from './media-request.js';
import type { KeySlot } from './upstream-key-ring.js';

/** What the gateway knows of one request (or Realtime session) as it goes through the stages; its usage record. */
export interface RequestState {
  /** Usage record id, also sent to the client as x-keywarden-request-id for correlation. */
  id: string;
  key: VirtualKeyRecord | null;
  path: string;
  model: string | null;
  stream: boolean;
  upstreamId: string | null;
  clientIp: string;
  /** Limits admission to settle when the request ends, however it ends. */
  admission: Admission | null;
  /** The upstream key the current attempt holds; released when the request ends (see UpstreamRegistry.drain). */
  keySlot: KeySlot | null;
  /** A request billed by the unit or by the kind of token (images, speech, transcription, video), else null. */
  media: MediaRequest | null;
}
