import { describe, expect, it } from 'vitest';
import { KeywardenError } from '../errors/index.js';
import { MAX_REFERENCES, NO_REFERENCES, objectReferencesOf } from './object-references.js';

const refs = (body: string) => objectReferencesOf(JSON.parse(body) as Record<string, unknown>, Buffer.from(body));

describe('object references in request bodies', () => {
  it('costs nothing for an ordinary chat body, escapes such as \\n and underscores in other fields included', () => {
    expect(refs('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}')).toBe(NO_REFERENCES);
    expect(refs('{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a\\nb \\\\u c \\"q\\""}]}')).toBe(NO_REFERENCES);
  });

  it('finds ids at any depth, in arrays and in {id} objects', () => {
    const body = JSON.stringify({
      model: 'm',
      previous_response_id: 'resp_1',
      conversation: { id: 'conv_1' },
      input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }],
      tools: [{ type: 'file_search', vector_store_ids: ['vs_1', 'vs_2'] }],
    });
    expect(refs(body).map((r) => `${r.kind}:${r.id}:${r.param}`).sort()).toEqual([
      'conversation:conv_1:conversation',
      'file:file-1:file_id',
      'response:resp_1:previous_response_id',
      'vector_store:vs_1:vector_store_ids',
      'vector_store:vs_2:vector_store_ids',
    ]);
  });

  it('reads top-level fields without `_id` in their names even when no walk is triggered', () => {
    expect(refs('{"model":"m","training_file":"file-t","validation_file":"file-v"}').map((r) => r.id)).toEqual(['file-t', 'file-v']);
    expect(refs('{"model":"m","conversation":"conv_9","input":"x"}').map((r) => r.id)).toEqual(['conv_9']);
  });

  it("finds an eval run's file source, named by `id` under `type: file_id`, and refuses one without an id", () => {
    const body = JSON.stringify({ data_source: { type: 'jsonl', source: { type: 'file_id', id: 'file-e' } } });
    expect(refs(body).map((r) => `${r.kind}:${r.id}:${r.param}`)).toEqual(['file:file-e:id']);
    // Spelled with an escape, the type still reads as file_id once parsed.
    expect(refs('{"data_source":{"source":{"type":"file\\u005fid","id":"file-f"}}}').map((r) => r.id)).toEqual(['file-f']);
    expect(() => refs('{"data_source":{"source":{"type":"file_id","id":7}}}')).toThrow(KeywardenError);
    expect(refs('{"data_source":{"source":{"type":"file_content","content":[]}}}')).toBe(NO_REFERENCES);
  });

  it('reads a code interpreter container by id, container_id anywhere, and a container file citation by its container only', () => {
    const tool = (container: unknown) => JSON.stringify({ model: 'm', input: 'x', tools: [{ type: 'code_interpreter', container }] });
    expect(refs(tool('cntr_1')).map((r) => `${r.kind}:${r.id}:${r.param}`)).toEqual(['container:cntr_1:container']);
    // A new container (`auto`) names none; its file_ids are files.
    expect(refs(tool({ type: 'auto' }))).toEqual([]);
    expect(refs(tool({ type: 'auto', file_ids: ['file-9'] })).map((r) => `${r.kind}:${r.id}`)).toEqual(['file:file-9']);
    const replay = JSON.stringify({
      input: [
        { type: 'code_interpreter_call', id: 'ci_1', container_id: 'cntr_2', code: '', outputs: null, status: 'completed' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: '', annotations: [{ type: 'container_file_citation', container_id: 'cntr_2', file_id: 'cfile_1', filename: 'a.csv', start_index: 0, end_index: 0 }, { type: 'file_citation', file_id: 'file-3', index: 0 }] }] },
      ],
    });
    expect(refs(replay).map((r) => `${r.kind}:${r.id}`).sort()).toEqual(['container:cntr_2', 'container:cntr_2', 'file:file-3']);
    // A shell's container: named by reference, or started with skills that must be the key's.
    const shell = JSON.stringify({ tools: [{ type: 'shell', environment: { type: 'container_auto', skills: [{ type: 'skill_reference', skill_id: 'skill_1' }] } }, { type: 'shell', environment: { type: 'container_reference', container_id: 'cntr_3' } }] });
    expect(refs(shell).map((r) => `${r.kind}:${r.id}`).sort()).toEqual(['container:cntr_3', 'skill:skill_1']);
    // The word elsewhere is the client's: a metadata value, a schema property.
    expect(refs('{"model":"m","metadata":{"container":"blue"},"text":{"format":{"schema":{"container":"x"}}}}')).toEqual([]);
  });

  it('sees keys spelled with JSON escapes', () => {
    expect(refs('{"model":"m","input":[{"type":"input_file","file\\u005fid":"file-x"}]}').map((r) => r.id)).toEqual(['file-x']);
    expect(refs('{"model":"m","training\\u005ffile":"file-y"}').map((r) => r.id)).toEqual(['file-y']);
  });

  it('refuses shapes a lenient upstream could coerce, item references, and floods of ids', () => {
    for (const body of ['{"previous_response_id":{"id":5}}', '{"file_ids":[["file-1"]]}', '{"training_file":7}']) {
      expect(() => refs(body), body).toThrow(KeywardenError);
    }
    expect(() => refs('{"input":[{"type":"item_reference","id":"msg_1"}]}')).toThrow(/Item references/);
    expect(() => refs('{"input":[{"type":"item\\u005freference","id":"msg_1"}]}')).toThrow(/Item references/);
    const many = JSON.stringify({ file_ids: Array.from({ length: MAX_REFERENCES + 1 }, (_, i) => `file-${i}`) });
    expect(() => refs(many)).toThrow(/more than/);
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    const depth = 50_000;
    const body = `${'{"a":'.repeat(depth)}{"file_id":"file-deep"}${'}'.repeat(depth)}`;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return; // this engine refuses such JSON itself; nothing reaches the walk
    }
    expect(objectReferencesOf(parsed, Buffer.from(body)).map((r) => r.id)).toEqual(['file-deep']);
  });
});
