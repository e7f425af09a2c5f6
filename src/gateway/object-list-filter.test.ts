import { describe, expect, it } from 'vitest';
import { filterOwnedList } from './object-list-filter.js';

const own = new Set(['a1', 'a2']);
const visible = (id: string) => own.has(id);

describe('filtering upstream lists to own objects', () => {
  it('keeps the list shape and recomputes first_id / last_id from what is returned', () => {
    const body = { object: 'list', data: [{ id: 'b1' }, { id: 'a1' }, { id: 'b2' }, { id: 'a2' }, { id: 'b3' }], first_id: 'b1', last_id: 'b3', has_more: true };
    expect(filterOwnedList(body, { visible })).toEqual({ object: 'list', data: [{ id: 'a1' }, { id: 'a2' }], first_id: 'a1', last_id: 'a2', has_more: true });
  });

  it('an all-foreign page names no foreign id', () => {
    const out = filterOwnedList({ object: 'list', data: [{ id: 'b1' }], first_id: 'b1', last_id: 'b1', has_more: false }, { visible });
    expect(out).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it('drops items without a string id and replaces a body that is not a list (hostile upstream)', () => {
    const out = filterOwnedList({ object: 'list', data: [{ id: 7 }, null, 'a1', [{ id: 'a1' }], { id: 'a1' }] }, { visible });
    expect(out).toEqual({ object: 'list', data: [{ id: 'a1' }] });
    for (const body of [null, 'text', [{ id: 'a1' }], { object: 'list', data: { id: 'b1' } }, { id: 'b1', secret: true }]) {
      expect(filterOwnedList(body, { visible })).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
    }
  });

  it('cuts to the client\'s limit and then says there is more, even when the upstream said there was not', () => {
    const body = { object: 'list', data: [{ id: 'a1' }, { id: 'b1' }, { id: 'a2' }], first_id: 'a1', last_id: 'a2', has_more: false };
    expect(filterOwnedList(body, { visible, limit: 1 })).toEqual({ object: 'list', data: [{ id: 'a1' }], first_id: 'a1', last_id: 'a1', has_more: true });
    expect(filterOwnedList(body, { visible, limit: 2 })).toEqual({ object: 'list', data: [{ id: 'a1' }, { id: 'a2' }], first_id: 'a1', last_id: 'a2', has_more: false });
  });
});
