import { maxImageTokens } from './image-tokens.js';
import { unseenPartType } from './unseen-inputs.js';

/**
 * Walks a request body with an explicit stack (no recursion, no depth cut-off: 100k-deep JSON neither blows the
 * stack nor hides content) and finds what a byte count cannot see: images, billed at the model's maximum for
 * their detail, and content parts whose cost is not in the body at all.
 */
export interface ContentFacts {
  images: number;
  imageTokens: number;
  /** The first content part type the gateway cannot size (`input_file`, `item_reference`, …), or null. */
  unseenPart: string | null;
}

const IMAGE_PART_TYPES = new Set(['image_url', 'input_image']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function detailOf(part: Record<string, unknown>): 'low' | 'other' {
  const nested = isRecord(part.image_url) ? part.image_url.detail : undefined;
  return (part.detail ?? nested) === 'low' ? 'low' : 'other';
}

/**
 * inspectContent's stack, shared by every call (the walk is synchronous, so calls never overlap): filled from
 * index 0 and emptied slot by slot, never truncated, so its backing store is kept instead of allocated per request.
 */
const walkStack: unknown[] = [];
const WALK_STACK_KEPT = 1024;

export function inspectContent(json: Record<string, unknown>, model: string | null): ContentFacts {
  const facts: ContentFacts = { images: 0, imageTokens: 0, unseenPart: null };
  const stack = walkStack;
  let top = 0;
  stack[top++] = json;
  while (top > 0) {
    const value = stack[--top];
    stack[top] = undefined; // nothing of this body stays reachable after the walk
    if (Array.isArray(value)) {
      for (const item of value) if (isRecord(item)) stack[top++] = item;
      continue;
    }
    if (!isRecord(value)) continue;
    const type = value.type;
    if (typeof type === 'string') {
      if (IMAGE_PART_TYPES.has(type)) {
        facts.images += 1;
        facts.imageTokens += maxImageTokens(model, detailOf(value));
        continue;
      }
      facts.unseenPart ??= unseenPartType(type);
    }
    for (const key in value) {
      const item = value[key];
      if (isRecord(item)) stack[top++] = item;
    }
  }
  // A huge body's walk grew the stack: let that store go rather than keep it for every later request.
  if (stack.length > WALK_STACK_KEPT) stack.length = 0;
  return facts;
}

/**
 * Every token-bearing element of a body, for the tokenizer: all strings (wherever they are and whatever they start
 * with), object keys (tool and response-format schemas are rendered into the prompt with their keys), numbers
 * (embeddings take token ids: one token each, and `number` is 1 + its text below) and literals. The URL of an
 * image part is left out: the image is billed by its own rule, already counted at its maximum.
 */
export function collectTokenText(json: Record<string, unknown>): { text: string; elements: number; objects: number } {
  const pieces: string[] = [];
  let objects = 0;
  const stack: unknown[] = [json];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') pieces.push(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) pieces.push(String(value));
    else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
    } else if (isRecord(value)) {
      objects += 1;
      const image = typeof value.type === 'string' && IMAGE_PART_TYPES.has(value.type);
      for (const key in value) {
        pieces.push(key);
        const item = value[key];
        if (image && (key === 'image_url' || key === 'url')) continue;
        stack.push(item);
      }
    }
  }
  return { text: pieces.join('\n'), elements: pieces.length, objects };
}
