// The Chat Completions wire protocol (OpenAI, Azure-compatible gateways, Ollama, vLLM, OpenRouter...).
import { textOf, type Message, type UserMessage } from '../domain/message';
import { outputMeter, postStream, providerEvents, ProviderError, type Endpoint, type ModelAdapter, type RawToolCall } from './types';

type UserPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
type UserContent = string | UserPart[];

type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: UserContent }
  | { role: 'assistant'; content: string | null; tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export function toChatMessages(instructions: string, messages: Message[]): ChatMessage[] {
  const out: ChatMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  for (const m of messages) {
    if (m.role === 'user') out.push({ role: 'user', content: userContent(m) });
    else if (m.role === 'tool') out.push({ role: 'tool', tool_call_id: m.tool_call_id, content: textOf(m) });
    else {
      const calls = m.tool_calls?.map((c) => ({
        id: c.id,
        type: 'function' as const,
        function: { name: c.name, arguments: JSON.stringify(c.arguments) },
      }));
      // content may be null only beside tool_calls; an empty reply is sent as "".
      out.push({ role: 'assistant', content: textOf(m) || (calls?.length ? null : ''), ...(calls?.length ? { tool_calls: calls } : {}) });
    }
  }
  return out;
}

/** Plain text, or content parts when the message carries an image (a resolved image input_file). */
function userContent(m: UserMessage): UserContent {
  if (!m.content.some((p) => p.type === 'input_image')) return textOf(m);
  return m.content.flatMap((p): UserPart[] =>
    p.type === 'input_image' ? [{ type: 'image_url', image_url: { url: `data:${p.media_type};base64,${p.data}` } }] : 'text' in p && p.text ? [{ type: 'text', text: p.text }] : [],
  );
}

interface ChunkDelta {
  content?: string | null;
  tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

interface Chunk {
  choices?: { index: number; delta?: ChunkDelta; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; type?: string; code?: string };
}

/** What every request of this wire carries (model calls and the card probe): the card's headers, then its key. */
export const openAIHeaders = (endpoint: Endpoint): Record<string, string> => ({ ...endpoint.headers, authorization: `Bearer ${endpoint.api_key}` });

export const callOpenAI: ModelAdapter = async (endpoint, req, hooks) => {
  const body = {
    model: req.model,
    messages: toChatMessages(req.instructions, req.messages),
    stream: true,
    stream_options: { include_usage: true },
    ...(req.tools.length
      ? { tools: req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })) }
      : {}),
    ...(req.max_output_tokens ? { max_completion_tokens: req.max_output_tokens } : {}),
  };
  const res = await postStream(
    endpoint,
    `${endpoint.base_url}/chat/completions`,
    { ...openAIHeaders(endpoint), accept: 'text/event-stream' },
    body,
    hooks.signal,
  );
  let text = '';
  let finish = 'stop';
  const calls = new Map<number, RawToolCall>();
  const usage = { input_tokens: 0, output_tokens: 0 };
  let done = false;
  const count = outputMeter(res.status);
  for await (const msg of providerEvents(res)) {
    hooks.onChunk();
    if (msg.data === '[DONE]') {
      done = true;
      break;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(msg.data) as Chunk;
    } catch {
      throw new ProviderError('Model provider sent a malformed stream chunk', res.status, true);
    }
    if (chunk.error) {
      const permanent = chunk.error.type === 'invalid_request_error' || chunk.error.code === 'context_length_exceeded';
      throw new ProviderError(`Model provider error: ${chunk.error.message ?? 'unknown'}`, res.status, !permanent);
    }
    if (chunk.usage) {
      usage.input_tokens = chunk.usage.prompt_tokens ?? 0;
      usage.output_tokens = chunk.usage.completion_tokens ?? 0;
    }
    for (const choice of chunk.choices ?? []) {
      if (choice.delta?.content) {
        count(choice.delta.content);
        text += choice.delta.content;
        hooks.onDelta(choice.delta.content);
      }
      for (const tc of choice.delta?.tool_calls ?? []) {
        // Some gateways omit `index` (one call per chunk) or repeat the name in every chunk.
        const index = tc.index ?? calls.size;
        const cur = calls.get(index) ?? { provider_id: '', name: '', arguments_json: '' };
        if (tc.id) cur.provider_id = tc.id;
        if (tc.function?.name && !cur.name) cur.name = tc.function.name;
        if (tc.function?.arguments) {
          count(tc.function.arguments);
          cur.arguments_json += tc.function.arguments;
        }
        calls.set(index, cur);
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  if (!done) throw new ProviderError('Model stream ended before [DONE]', res.status, true);
  return { text, tool_calls: [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c), usage, finish_reason: finish };
};
