import type OpenAI from 'openai';

export interface ChatLoad {
  /** Resolves when every request has finished (failures are collected, not thrown). */
  done: Promise<void>;
  /** Requests started so far. */
  readonly issued: number;
  /** Requests answered with content so far. */
  readonly succeeded: number;
  /** `#n: error` for each request that failed or came back empty. */
  readonly failures: string[];
}

/**
 * `total` chat requests through the SDK from `workers` concurrent loops, every third one streamed (read to the
 * end): the steady mixed load the rotation tests run a key change under. An empty answer counts as a failure.
 */
export function startChatLoad(
  client: OpenAI,
  chat: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
  options: { total: number; workers: number },
): ChatLoad {
  let issued = 0;
  let succeeded = 0;
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    while (issued < options.total) {
      const n = issued++;
      try {
        if (n % 3 === 0) {
          const stream = await client.chat.completions.create({ ...chat, stream: true });
          let text = '';
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
          if (text.length === 0) throw new Error('empty stream');
        } else {
          const completion = await client.chat.completions.create(chat);
          if (!completion.choices[0]?.message.content) throw new Error('empty completion');
        }
        succeeded++;
      } catch (err) {
        failures.push(`#${n}: ${String(err)}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, worker)).then(() => undefined);
  return {
    done,
    get issued() {
      return issued;
    },
    get succeeded() {
      return succeeded;
    },
    failures,
  };
}
