import type { DerivedObject } from './object-routes.js';
import { isJsonObject } from '../util/json-object.js';
import { sseDataOf } from './sse-relay.js';

/** How many events to look at for the created object; it is always in the first (`response.created`, a chat chunk). */
const MAX_EVENTS_INSPECTED = 3;

/**
 * An observer for a streamed creation: finds the first event that names the created object (`response.created`
 * carries it under `response`; every chat completion chunk carries the completion id itself) and hands that object
 * over once. Only the first few events are parsed, so a long stream costs nothing after them.
 */
export function firstSseObject(onObject: (object: Record<string, unknown>) => void): (event: string) => void {
  let inspected = 0;
  return (event) => {
    if (inspected >= MAX_EVENTS_INSPECTED) return;
    inspected++;
    const parsed = eventObject(event);
    if (parsed === null) return;
    const object = isJsonObject(parsed.response) ? parsed.response : parsed;
    if (typeof object.id !== 'string') return;
    inspected = MAX_EVENTS_INSPECTED;
    onObject(object);
  };
}

/**
 * An observer for the objects a streamed creation leaves behind (a code interpreter's container): an event is parsed
 * only when its text holds one of the `derived` id fields, and `inEvent` picks the object to read them from.
 */
export function derivedSseObjects(
  derived: readonly DerivedObject[],
  inEvent: (event: Record<string, unknown>) => Record<string, unknown> | null,
  onObject: (object: Record<string, unknown>) => void,
): (event: string) => void {
  const markers = [...new Set(derived.map((d) => `"${d.idPath?.[d.idPath.length - 1] ?? 'id'}"`))];
  return (event) => {
    if (!markers.some((marker) => event.includes(marker))) return;
    const parsed = eventObject(event);
    const object = parsed === null ? null : inEvent(parsed);
    if (object) onObject(object);
  };
}

/** The JSON object an SSE event's data holds, or null (no data, `[DONE]`, not JSON, not an object). */
function eventObject(event: string): Record<string, unknown> | null {
  const data = sseDataOf(event);
  if (data === null || data === '[DONE]') return null;
  try {
    const parsed: unknown = JSON.parse(data);
    return isJsonObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}
