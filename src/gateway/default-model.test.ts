import { describe, expect, it } from 'vitest';
import { endpointGroupOf } from '../policy/endpoint-groups.js';
import { runsModelUnnamed } from './default-model.js';

const runs = (method: string, path: string): boolean => runsModelUnnamed(method, endpointGroupOf(path), path);

describe('runsModelUnnamed', () => {
  it('counts inference POSTs, a video creation and any group it does not know as running a model', () => {
    for (const path of ['/v1/chat/completions', '/v1/responses', '/v1/responses/compact', '/v1/images/generations', '/v1/audio/speech', '/v1/moderations', '/v1/embeddings']) {
      expect(runs('POST', path)).toBe(true);
    }
    expect(runs('POST', '/v1/videos')).toBe(true);
    expect(runs('POST', '/v1/videos/')).toBe(true);
    for (const path of ['/v1/chatkit/sessions', '/v1/agents/runs', '/v1/Videos', '/v1/Chat/Completions']) expect(runs('POST', path)).toBe(true);
  });

  it('leaves out reads, groups that run no model of the provider choosing, and POSTs on objects that exist', () => {
    for (const method of ['GET', 'DELETE', 'HEAD']) expect(runs(method, '/v1/chat/completions')).toBe(false);
    expect(runs('GET', '/v1/chatkit/threads')).toBe(false);
    for (const path of ['/v1/files', '/v1/uploads', '/v1/batches', '/v1/vector_stores', '/v1/containers', '/v1/skills', '/v1/conversations', '/v1/assistants', '/v1/threads/thread_1/runs', '/v1/fine_tuning/jobs', '/v1/evals', '/v1/realtime/client_secrets', '/v1/Realtime/Client_Secrets', '/v1/Files']) {
      expect(runs('POST', path)).toBe(false);
    }
    // Its model was chosen, and checked, when the object was made.
    for (const path of ['/v1/videos/video_1/remix', '/v1/responses/resp_1/cancel', '/v1/chat/completions/chatcmpl-1']) expect(runs('POST', path)).toBe(false);
  });
});
