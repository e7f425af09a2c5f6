import { valueAtPath } from '../util/json-object.js';
import { asModel } from './nested-models.js';

/**
 * The models a Realtime request starts a session with. A client secret (`POST /v1/realtime/client_secrets`) is a
 * provider credential the app's client then uses directly, so its session's model must be checked here, where it is
 * minted: it sits under `session`, or deeper for a transcription session, not at the top level where the other
 * endpoints name theirs.
 */

/**
 * Paths that start a session (or accept a call into one) with the models their body names. Case-insensitive, as a
 * lenient upstream routes: `/v1/Realtime/Client_Secrets` must not slip past.
 */
const SESSION_PATHS = /^\/v1\/realtime\/(client_secrets|sessions|transcription_sessions|calls\/[^/]+\/accept)$/i;
/** Creating a call directly (WebRTC SDP, or a multipart body with a `session` part): its model is not read here. */
const CALL_CREATION = '/v1/realtime/calls';

export interface RealtimeModels {
  /** The request starts a session: without a model named, the provider would pick its default. */
  startsSession: boolean;
  /** A session the gateway cannot read the models of (not JSON). */
  unreadable: boolean;
  /** Every model the body names, wherever the Realtime API reads one. */
  models: string[];
}

/**
 * Where a session body names a model: the session's, a transcription session's, the legacy endpoints'. A WebSocket
 * session's `session.update` event has the client secret body's shape (`{"session": {…}}`).
 */
const MODEL_PATHS: readonly (readonly string[])[] = [
  ['model'],
  ['session', 'model'],
  ['session', 'audio', 'input', 'transcription', 'model'],
  ['session', 'input_audio_transcription', 'model'],
  ['audio', 'input', 'transcription', 'model'],
  ['input_audio_transcription', 'model'],
];

const NO_SESSION: RealtimeModels = Object.freeze({ startsSession: false, unreadable: false, models: [] });
const UNREADABLE_SESSION: RealtimeModels = Object.freeze({ startsSession: true, unreadable: true, models: [] });

export function realtimeModelsOf(method: string, path: string, json: Record<string, unknown> | null): RealtimeModels {
  if (method !== 'POST') return NO_SESSION;
  if (path.toLowerCase() === CALL_CREATION) return UNREADABLE_SESSION;
  if (!SESSION_PATHS.test(path)) return NO_SESSION;
  if (json === null) return UNREADABLE_SESSION;
  return { startsSession: true, unreadable: false, models: sessionModelsOf(json) };
}

/** Every model a session body (or a Realtime client event) names, wherever the Realtime API reads one. */
export function sessionModelsOf(json: Record<string, unknown>): string[] {
  const models: string[] = [];
  for (const at of MODEL_PATHS) {
    const model = valueAtPath(json, at);
    if (model !== undefined && model !== null) models.push(asModel(model));
  }
  return models;
}
