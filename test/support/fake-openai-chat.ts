// POST /chat/completions and the legacy POST /completions, as JSON or SSE. This is the benchmark's hot
// path, so bodies are assembled from string pieces instead of building and serializing objects.
import { invalidRequest } from './fake-openai-errors.js';
import { generate, requireModel, type Generation } from './fake-openai-generation.js';
import type { HandlerContext, Reply } from './fake-openai-types.js';
import { collectText, int, isObject, messagesTokens, newId, nowSeconds, textTokens } from './fake-openai-util.js';

const FINGERPRINT = 'fp_fake0001';
const DONE = 'data: [DONE]\n\n';
const ROLE_CHOICE = '{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}';

/** Real OpenAI rejects stream_options on a non-streamed request, which catches a gateway injecting it blindly. */
function streamFlags(ctx: HandlerContext): { stream: boolean; includeUsage: boolean } | Reply {
  const stream = ctx.json.stream === true;
  const options = ctx.json.stream_options;
  if (options !== undefined && options !== null && !stream) {
    return invalidRequest(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
    );
  }
  const includeUsage = isObject(options) && options.include_usage === true && ctx.behavior.omitUsage !== true;
  return { stream, includeUsage };
}

function chatUsageJson(gen: Generation): string {
  return (
    `{"prompt_tokens":${gen.promptTokens},"completion_tokens":${gen.completionTokens},` +
    `"total_tokens":${gen.promptTokens + gen.completionTokens},` +
    `"prompt_tokens_details":{"cached_tokens":${gen.cachedTokens},"audio_tokens":0},` +
    `"completion_tokens_details":{"reasoning_tokens":${gen.reasoningTokens},"audio_tokens":${gen.audioTokens},` +
    `"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
  );
}

function legacyUsageJson(gen: Generation): string {
  return (
    `{"prompt_tokens":${gen.promptTokens},"completion_tokens":${gen.completionTokens},` +
    `"total_tokens":${gen.promptTokens + gen.completionTokens}}`
  );
}

// Serialized content-delta choices, memoized per deltas array (default replies reuse one array per model).
const choiceCache = new WeakMap<readonly string[], readonly string[]>();

function contentChoices(deltas: readonly string[]): readonly string[] {
  let choices = choiceCache.get(deltas);
  if (choices === undefined) {
    choices = deltas.map(
      (d) => `{"index":0,"delta":{"content":${JSON.stringify(d)}},"logprobs":null,"finish_reason":null}`,
    );
    choiceCache.set(deltas, choices);
  }
  return choices;
}

export function chatCompletions(ctx: HandlerContext): Reply {
  const model = requireModel(ctx);
  if (typeof model !== 'string') return model;
  const flags = streamFlags(ctx);
  if ('kind' in flags) return flags;
  const messages = ctx.json.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  const maxTokens = int(ctx.json.max_completion_tokens) ?? int(ctx.json.max_tokens);
  const gen = generate(ctx, model, messagesTokens(messages), maxTokens);
  const id = newId('chatcmpl-');
  const created = nowSeconds();
  const modelJson = JSON.stringify(gen.model);
  if (!flags.stream) {
    const body =
      `{"id":"${id}","object":"chat.completion","created":${created},"model":${modelJson},` +
      `"choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(gen.text)},"refusal":null,` +
      `"annotations":[]},"logprobs":null,"finish_reason":"${gen.finishReason}"}],` +
      `"usage":${chatUsageJson(gen)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}"}`;
    return { kind: 'json', status: 200, body };
  }
  const head =
    `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${modelJson},` +
    `"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[`;
  // With include_usage every chunk carries "usage":null and one extra chunk has choices [] and the usage.
  const tail = flags.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const frames = [head + ROLE_CHOICE + tail];
  for (const choice of contentChoices(gen.deltas)) frames.push(head + choice + tail);
  frames.push(`${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${gen.finishReason}"}${tail}`);
  if (flags.includeUsage) frames.push(`${head}],"usage":${chatUsageJson(gen)}}\n\n`);
  frames.push(DONE);
  return { kind: 'sse', frames };
}

export function legacyCompletions(ctx: HandlerContext): Reply {
  const model = requireModel(ctx);
  if (typeof model !== 'string') return model;
  const flags = streamFlags(ctx);
  if ('kind' in flags) return flags;
  const prompt = ctx.json.prompt;
  if (prompt === undefined) {
    return invalidRequest("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
  }
  const gen = generate(ctx, model, Math.max(1, textTokens(collectText(prompt))), int(ctx.json.max_tokens));
  const id = newId('cmpl-');
  const created = nowSeconds();
  const modelJson = JSON.stringify(gen.model);
  if (!flags.stream) {
    const body =
      `{"id":"${id}","object":"text_completion","created":${created},"model":${modelJson},` +
      `"choices":[{"text":${JSON.stringify(gen.text)},"index":0,"logprobs":null,"finish_reason":"${gen.finishReason}"}],` +
      `"usage":${legacyUsageJson(gen)}}`;
    return { kind: 'json', status: 200, body };
  }
  const head = `data: {"id":"${id}","object":"text_completion","created":${created},"choices":[`;
  const tail = flags.includeUsage ? `],"model":${modelJson},"usage":null}\n\n` : `],"model":${modelJson}}\n\n`;
  const frames: string[] = [];
  for (const delta of gen.deltas) {
    frames.push(`${head}{"text":${JSON.stringify(delta)},"index":0,"logprobs":null,"finish_reason":null}${tail}`);
  }
  frames.push(`${head}{"text":"","index":0,"logprobs":null,"finish_reason":"${gen.finishReason}"}${tail}`);
  if (flags.includeUsage) frames.push(`${head}],"model":${modelJson},"usage":${legacyUsageJson(gen)}}\n\n`);
  frames.push(DONE);
  return { kind: 'sse', frames };
}
