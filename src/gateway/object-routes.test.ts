import { describe, expect, it } from 'vitest';
import { matchObjectRoute } from './object-routes.js';

const kindOf = (method: string, path: string): string | null => {
  const route = matchObjectRoute(method, path);
  if (route === null) return null;
  if (route.type === 'refuse') return 'refuse';
  if (route.type === 'object') return `object:${route.collection.kind}:${route.id}${route.action === null ? '' : `:${route.action}`}`;
  if (route.type === 'operation') return `operation:${route.collection.kind}:${route.operation}`;
  return `${route.type}:${route.collection.kind}`;
};

describe('object route table', () => {
  it('leaves inference routes alone', () => {
    for (const path of ['/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/audio/speech', '/v1/chat']) {
      expect(kindOf('POST', path)).toBeNull();
    }
  });

  it('classifies creations, lists, objects and operations', () => {
    expect(kindOf('POST', '/v1/chat/completions')).toBe('create:chat_completion');
    expect(kindOf('GET', '/v1/chat/completions')).toBe('list:chat_completion');
    expect(kindOf('GET', '/v1/chat/completions/chatcmpl-1/messages')).toBe('object:chat_completion:chatcmpl-1:messages');
    expect(kindOf('POST', '/v1/responses')).toBe('create:response');
    expect(kindOf('POST', '/v1/responses/input_tokens')).toBe('operation:response:input_tokens');
    expect(kindOf('POST', '/v1/responses/resp_1/cancel')).toBe('object:response:resp_1:cancel');
    expect(kindOf('DELETE', '/v1/files/file-1')).toBe('object:file:file-1');
    expect(kindOf('GET', '/v1/fine_tuning/jobs/ftjob-1/events')).toBe('object:fine_tuning_job:ftjob-1:events');
    expect(kindOf('POST', '/v1/vector_stores/vs_1/files')).toBe('object:vector_store:vs_1:files');
    expect(kindOf('POST', '/v1/uploads/upload_1/complete')).toBe('object:upload:upload_1:complete');
    expect(kindOf('POST', '/v1/threads/runs')).toBe('operation:thread:runs');
    expect(kindOf('GET', '/v1/models')).toBe('list:model');
    expect(kindOf('DELETE', '/v1/models/ft%3Agpt-4o%3Aorg%3A%3Aabc')).toBe('object:model:ft:gpt-4o:org::abc');
  });

  it('classifies videos (remix is an action on one), containers and evals (files and runs live below them)', () => {
    expect(kindOf('POST', '/v1/videos')).toBe('create:video');
    expect(kindOf('GET', '/v1/videos')).toBe('list:video');
    expect(kindOf('GET', '/v1/videos/video_1/content')).toBe('object:video:video_1:content');
    expect(kindOf('POST', '/v1/videos/video_1/Remix')).toBe('object:video:video_1:remix');
    expect(kindOf('POST', '/v1/containers')).toBe('create:container');
    expect(kindOf('GET', '/v1/containers')).toBe('list:container');
    expect(kindOf('GET', '/v1/containers/cntr_1/files/cfile_1/content')).toBe('object:container:cntr_1');
    expect(kindOf('GET', '/v1/skills/skill_1/versions/2/content')).toBe('object:skill:skill_1');
    expect(kindOf('POST', '/v1/evals')).toBe('create:eval');
    expect(kindOf('GET', '/v1/evals')).toBe('list:eval');
    expect(kindOf('POST', '/v1/evals/eval_1/runs')).toBe('object:eval:eval_1:runs');
    // Deeper sub-paths carry no action: only the object's ownership decides.
    expect(kindOf('GET', '/v1/evals/eval_1/runs/evalrun_1/output_items')).toBe('object:eval:eval_1');
  });

  it('refuses the video routes whose bodies name sources it does not check, on every method and spelling', () => {
    for (const path of ['/v1/videos/edits', '/v1/videos/extensions', '/v1/videos/characters', '/v1/videos/EDITS', '/v1/videos/characters/char_1']) {
      for (const method of ['GET', 'POST', 'DELETE']) expect(kindOf(method, path)).toBe('refuse');
    }
  });

  it('matches collection names case-insensitively, ids exactly, and ignores a trailing slash', () => {
    expect(kindOf('GET', '/v1/FILES/File-AbC')).toBe('object:file:File-AbC');
    expect(kindOf('GET', '/v1/Chat/Completions/')).toBe('list:chat_completion');
    expect(kindOf('GET', '/v1/files/file-1/')).toBe('object:file:file-1');
  });

  it('fails closed on methods and sub-paths it cannot vouch for', () => {
    expect(kindOf('DELETE', '/v1/files')).toBe('refuse');
    expect(kindOf('PUT', '/v1/chat/completions')).toBe('refuse');
    expect(kindOf('GET', '/v1/responses')).toBe('refuse'); // no list of responses exists to filter
    expect(kindOf('GET', '/v1/responses/input_tokens')).toBe('refuse');
    expect(kindOf('POST', '/v1/models')).toBe('refuse');
    expect(kindOf('GET', '/v1/fine_tuning/checkpoints/ft:x:ckpt-step-1/permissions')).toBe('refuse');
    expect(kindOf('GET', `/v1/files/${'a'.repeat(257)}`)).toBe('refuse');
    expect(kindOf('GET', '/v1/files/%E0%A4%A')).toBe('refuse');
  });
});
