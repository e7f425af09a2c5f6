// POST /responses: the Response object, or the typed SSE event sequence (`event:` + `data:` lines, no
// [DONE]) ending in response.completed, whose usage is what a gateway meters.
import { generate, requireModel, type Generation } from './fake-openai-generation.js';
import type { HandlerContext, Reply } from './fake-openai-types.js';
import { collectText, int, newId, nowSeconds, str, textTokens } from './fake-openai-util.js';

type Status = 'queued' | 'in_progress' | 'completed' | 'incomplete';

function usageOf(gen: Generation): Record<string, unknown> {
  return {
    input_tokens: gen.promptTokens,
    input_tokens_details: { cached_tokens: gen.cachedTokens },
    output_tokens: gen.completionTokens,
    output_tokens_details: { reasoning_tokens: gen.reasoningTokens },
    total_tokens: gen.promptTokens + gen.completionTokens,
  };
}

function textPart(text: string): Record<string, unknown> {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

function message(id: string, status: Status, content: unknown[]): Record<string, unknown> {
  return { id, type: 'message', status, content, role: 'assistant' };
}

/**
 * A hosted tool run of this response in a container: a code interpreter (it cites the file its code wrote there) or
 * a shell (its call names the container in `environment`).
 */
export interface ContainerToolRun {
  tool: 'code_interpreter' | 'shell';
  containerId: string;
  fileId: string;
  filename: string;
}

function toolCall(id: string, status: Status, run: ContainerToolRun): Record<string, unknown> {
  if (run.tool === 'shell') {
    return { id, type: 'shell_call', call_id: newId('call_'), status, action: { commands: ['ls /mnt/data'], timeout_ms: null, max_output_length: null }, environment: { type: 'container_reference', container_id: run.containerId } };
  }
  return { id, type: 'code_interpreter_call', status, code: 'print(2 + 2)', container_id: run.containerId, outputs: null };
}

/**
 * `toolRun`: the response runs a hosted tool first (an output item naming its container), then answers.
 * `onBackgroundDone`: a background request is answered queued; this receives the finished response that reading it
 * back later returns (the fake runs it at once, so it is billed once, as OpenAI bills it).
 */
export function responses(ctx: HandlerContext, toolRun?: ContainerToolRun, onBackgroundDone?: (finished: Record<string, unknown>) => void): Reply {
  const model = requireModel(ctx);
  if (typeof model !== 'string') return model;
  const body = ctx.json;
  const instructions = str(body.instructions) ?? null;
  const promptTokens = Math.max(1, textTokens(collectText(body.input)) + textTokens(instructions ?? ''));
  const gen = generate(ctx, model, promptTokens, int(body.max_output_tokens));
  const finalStatus: Status = gen.finishReason === 'length' ? 'incomplete' : 'completed';
  const usage = ctx.behavior.omitUsage === true ? null : usageOf(gen);
  const responseId = newId('resp_');
  const messageId = newId('msg_');
  const createdAt = nowSeconds();

  const responseObject = (status: Status, output: unknown[], withUsage: boolean): Record<string, unknown> => ({
    id: responseId,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions,
    max_output_tokens: int(body.max_output_tokens) ?? null,
    model: gen.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: str(body.previous_response_id) ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store !== false,
    temperature: typeof body.temperature === 'number' ? body.temperature : 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: withUsage ? usage : null,
    user: null,
    metadata: body.metadata ?? {},
  });

  const finalPart = textPart(gen.text);
  if (toolRun?.tool === 'code_interpreter') {
    finalPart.annotations = [
      { type: 'container_file_citation', container_id: toolRun.containerId, file_id: toolRun.fileId, filename: toolRun.filename, start_index: 0, end_index: 0 },
    ];
  }
  const finalMessage = message(messageId, finalStatus, [finalPart]);
  const callId = newId(toolRun?.tool === 'shell' ? 'sh_' : 'ci_');
  const finalCall = toolRun ? toolCall(callId, 'completed', toolRun) : null;
  const finalOutput = finalCall ? [finalCall, finalMessage] : [finalMessage];
  if (body.background === true) {
    // OpenAI answers a background job at once, queued and without usage; the generation is billed all the same.
    onBackgroundDone?.({ ...responseObject(finalStatus, finalOutput, true), background: true });
    return { kind: 'json', status: 200, body: JSON.stringify({ ...responseObject('queued', [], false), background: true }) };
  }
  if (body.stream !== true) {
    return { kind: 'json', status: 200, body: JSON.stringify(responseObject(finalStatus, finalOutput, true)) };
  }

  const { frames, emit } = eventFrames();
  const messageIndex = finalCall ? 1 : 0;
  const at = { item_id: messageId, output_index: messageIndex, content_index: 0 };
  emit('response.created', { response: responseObject('in_progress', [], false) });
  emit('response.in_progress', { response: responseObject('in_progress', [], false) });
  if (toolRun && finalCall) {
    emit('response.output_item.added', { output_index: 0, item: toolCall(callId, 'in_progress', toolRun) });
    emit('response.output_item.done', { output_index: 0, item: finalCall });
  }
  emit('response.output_item.added', { output_index: messageIndex, item: message(messageId, 'in_progress', []) });
  emit('response.content_part.added', { ...at, part: textPart('') });
  for (const delta of gen.deltas) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
  emit('response.output_text.done', { ...at, text: gen.text, logprobs: [] });
  emit('response.content_part.done', { ...at, part: finalPart });
  emit('response.output_item.done', { output_index: messageIndex, item: finalMessage });
  const terminal = finalStatus === 'completed' ? 'response.completed' : 'response.incomplete';
  emit(terminal, { response: responseObject(finalStatus, finalOutput, true) });
  return { kind: 'sse', frames };
}

/** Typed SSE frames (`event:` + `data:`), numbered in order. */
function eventFrames(): { frames: string[]; emit: (type: string, fields: Record<string, unknown>) => void } {
  const frames: string[] = [];
  return {
    frames,
    emit: (type, fields) => {
      frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: frames.length, ...fields })}\n\n`);
    },
  };
}

/**
 * GET /responses/{id}?stream=true: a stored response read back as the events that made it (how a background response
 * is usually followed): created, each output item added and done, then the terminal event with the whole response.
 */
export function replayResponse(response: Record<string, unknown>): Reply {
  const { frames, emit } = eventFrames();
  const output = Array.isArray(response.output) ? (response.output as unknown[]) : [];
  emit('response.created', { response: { ...response, status: 'in_progress', output: [], usage: null } });
  output.forEach((item, index) => {
    emit('response.output_item.added', { output_index: index, item });
    emit('response.output_item.done', { output_index: index, item });
  });
  emit(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response });
  return { kind: 'sse', frames };
}
