// The "model": deterministic reply text and token counts shared by chat, legacy completions and the
// Responses API, so usage always agrees with what was streamed.
import { invalidRequest } from './fake-openai-errors.js';
import type { HandlerContext, Reply, ReplySpec } from './fake-openai-types.js';
import { splitDeltas, str } from './fake-openai-util.js';

/** Aliases OpenAI resolves to dated snapshots in the `model` field of its answers. */
export const MODEL_SNAPSHOTS: Readonly<Record<string, string>> = {
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4.1': 'gpt-4.1-2025-04-14',
  'gpt-4.1-mini': 'gpt-4.1-mini-2025-04-14',
  'gpt-4.1-nano': 'gpt-4.1-nano-2025-04-14',
  'o3-mini': 'o3-mini-2025-01-31',
  'o4-mini': 'o4-mini-2025-04-16',
  'omni-moderation-latest': 'omni-moderation-2024-09-26',
};

export function answeredModel(ctx: HandlerContext, requested: string): string {
  return ctx.config.snapshotModels ? (MODEL_SNAPSHOTS[requested] ?? requested) : requested;
}

export function defaultReplyText(model: string): string {
  return `Hello from the fake ${model}. This reply is deterministic.`;
}

export interface Generation {
  /** The model name to answer with (a snapshot when snapshotModels is on). */
  model: string;
  deltas: readonly string[];
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Audio tokens of a spoken answer (an audio model asked for `modalities: ["audio"]`), inside completionTokens. */
  audioTokens: number;
  /** Visible deltas plus reasoning and audio tokens, as OpenAI counts them. */
  completionTokens: number;
}

/** Audio tokens per text token of a spoken answer (OpenAI's audio runs about ten times the transcript's tokens). */
const AUDIO_TOKENS_PER_TEXT_TOKEN = 10;

/**
 * The audio tokens a spoken answer takes: an audio model asked for audio speaks its text, and the cap on output
 * (`max_completion_tokens`) bounds text and audio together, so the fake fills what the cap leaves, as the worst
 * case the gateway's bound must hold against.
 */
function spokenTokens(ctx: HandlerContext, model: string, textTokens: number, maxTokens: number | undefined): number {
  const modalities = ctx.json.modalities;
  if (!/audio/.test(model) || !Array.isArray(modalities) || !modalities.includes('audio')) return 0;
  const spoken = textTokens * AUDIO_TOKENS_PER_TEXT_TOKEN;
  return maxTokens === undefined ? spoken : Math.max(0, Math.min(spoken, maxTokens - textTokens));
}

// The default reply depends only on the model, so its deltas are computed once per model; the cache is
// bounded because benchmark clients may send arbitrary model names.
const defaultDeltas = new Map<string, readonly string[]>();

function deltasFor(spec: ReplySpec | undefined, ctx: HandlerContext, model: string): readonly string[] {
  if (spec === undefined) {
    let cached = defaultDeltas.get(model);
    if (cached === undefined) {
      if (defaultDeltas.size > 1000) defaultDeltas.clear();
      cached = splitDeltas(defaultReplyText(model));
      defaultDeltas.set(model, cached);
    }
    return cached;
  }
  const value = typeof spec === 'function' ? spec({ route: ctx.route, model, body: ctx.json }) : spec;
  return typeof value === 'string' ? splitDeltas(value) : value;
}

function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model);
}

export function generate(
  ctx: HandlerContext,
  requestedModel: string,
  promptTokens: number,
  maxTokens: number | undefined,
): Generation {
  // With a billing ledger the fake reports what it bills (an honest upstream), counted by OpenAI's rules.
  if (ctx.billing) promptTokens = ctx.billing.inputTokens(ctx.route, ctx.json, requestedModel);
  let deltas = deltasFor(ctx.config.reply, ctx, requestedModel);
  let finishReason: Generation['finishReason'] = 'stop';
  if (maxTokens !== undefined && maxTokens >= 0 && maxTokens < deltas.length) {
    deltas = deltas.slice(0, maxTokens);
    finishReason = 'length';
  }
  const usage = ctx.config.usage;
  const reasoningTokens = usage?.reasoningTokens ?? (isReasoningModel(requestedModel) ? 64 : 0);
  const audioTokens = spokenTokens(ctx, requestedModel, deltas.length, maxTokens);
  const generation: Generation = {
    model: answeredModel(ctx, requestedModel),
    deltas,
    text: deltas.join(''),
    finishReason,
    promptTokens,
    cachedTokens: Math.min(usage?.cachedTokens ?? 0, promptTokens),
    reasoningTokens,
    audioTokens,
    completionTokens: deltas.length + reasoningTokens + audioTokens,
  };
  if (ctx.billing) generation.completionTokens = ctx.billing.chargeGeneration(ctx.route, ctx.json, requestedModel, promptTokens, generation);
  return generation;
}

/** The model from the body, or the deployment on Azure paths (where the body may omit it). */
export function requireModel(ctx: HandlerContext): string | Reply {
  const model = str(ctx.json.model) ?? ctx.deployment;
  return model === undefined || model === '' ? invalidRequest('you must provide a model parameter') : model;
}
