import { describe, expect, it } from 'vitest';
import { realtimeModelsOf } from './realtime-models.js';

describe('realtime session models', () => {
  it('reads the models where the Realtime API reads them, on the paths that start a session', () => {
    expect(realtimeModelsOf('POST', '/v1/realtime/client_secrets', { session: { type: 'realtime', model: 'gpt-realtime' } }).models).toEqual(['gpt-realtime']);
    expect(
      realtimeModelsOf('POST', '/v1/realtime/client_secrets', { session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } } }).models,
    ).toEqual(['gpt-4o-transcribe']);
    expect(realtimeModelsOf('POST', '/v1/realtime/sessions', { model: 'gpt-4o-realtime-preview' }).models).toEqual(['gpt-4o-realtime-preview']);
    expect(realtimeModelsOf('POST', '/v1/realtime/transcription_sessions', { input_audio_transcription: { model: 'whisper-1' } }).models).toEqual(['whisper-1']);
    expect(realtimeModelsOf('POST', '/v1/realtime/calls/rtc_1/accept', { type: 'realtime', model: 'gpt-realtime' }).models).toEqual(['gpt-realtime']);
    // Any spelling of the path a lenient upstream would route the same way.
    expect(realtimeModelsOf('POST', '/v1/Realtime/Client_Secrets', { session: { model: 'x' } }).models).toEqual(['x']);
    expect(realtimeModelsOf('POST', '/v1/REALTIME/CALLS', null).unreadable).toBe(true);
    // Two places at once: both are checked.
    expect(realtimeModelsOf('POST', '/v1/realtime/client_secrets', { model: 'a', session: { model: 'b' } }).models).toEqual(['a', 'b']);
  });

  it('says when a session names no model, or names it where it cannot be read', () => {
    expect(realtimeModelsOf('POST', '/v1/realtime/client_secrets', { session: { type: 'realtime' } })).toEqual({ startsSession: true, unreadable: false, models: [] });
    expect(realtimeModelsOf('POST', '/v1/realtime/client_secrets', null)).toEqual({ startsSession: true, unreadable: true, models: [] });
    expect(realtimeModelsOf('POST', '/v1/realtime/calls', null)).toEqual({ startsSession: true, unreadable: true, models: [] });
    // A non-string model is passed on as written, to be refused by any scope that names models.
    expect(realtimeModelsOf('POST', '/v1/realtime/client_secrets', { session: { model: { x: 1 } } }).models).toEqual(['{"x":1}']);
  });

  it('leaves the requests that start no session alone', () => {
    for (const [method, path] of [
      ['POST', '/v1/realtime/calls/rtc_1/hangup'],
      ['POST', '/v1/realtime/calls/rtc_1/refer'],
      ['GET', '/v1/realtime/client_secrets'],
    ] as const) {
      expect(realtimeModelsOf(method, path, { model: 'x' }).startsSession).toBe(false);
    }
  });
});
