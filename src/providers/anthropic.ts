// The Anthropic Messages wire protocol, streaming, with tool use.
import { textOf, type Message, type UserMessage } from '../domain/message';
import { outputMeter, postStream, providerEvents, ProviderError, type Endpoint, type ModelAdapter } from './types';

type Block =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

export function toAnthropicMessages(messages: Message[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], blocks: Block[]): void => {
    const last = out[out.length - 1];
    // The Messages API wants alternating roles: consecutive tool results share one user turn.
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === 'user') push('user', userBlocks(m));
    else if (m.role === 'tool') push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: textOf(m), ...(m.is_error ? { is_error: true } : {}) }]);
    else {
      const blocks: Block[] = textOf(m) ? [{ type: 'text', text: textOf(m) }] : [];
      for (const c of m.tool_calls ?? []) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments });
      // The Messages API rejects an assistant turn without content: an empty reply is left out.
      if (blocks.length) push('assistant', blocks);
    }
  }
  return out;
}

/** One text block, or text and image blocks in order when the message carries an image (a resolved input_file). */
function userBlocks(m: UserMessage): Block[] {
  if (!m.content.some((p) => p.type === 'input_image')) return [{ type: 'text', text: textOf(m) }];
  return m.content.flatMap((p): Block[] =>
    p.type === 'input_image' ? [{ type: 'image', source: { type: 'base64', media_type: p.media_type, data: p.data } }] : 'text' in p && p.text ? [{ type: 'text', text: p.text }] : [],
  );
}

interface StreamEvent {
  type: string;
  index?: number;
  message?: { usage?: { input_tokens?: number; output_tokens?: number } };
  content_block?: { type: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string };
  usage?: { output_tokens?: number; input_tokens?: number };
  error?: { type?: string; message?: string };
}

/** What every request of this wire carries (model calls and the card probe): the version, the card's headers, the key. */
export const anthropicHeaders = (endpoint: Endpoint): Record<string, string> => ({ 'anthropic-version': '2023-06-01', ...endpoint.headers, 'x-api-key': endpoint.api_key });

export const callAnthropic: ModelAdapter = async (endpoint, req, hooks) => {
  const body = {
    model: req.model,
    max_tokens: req.max_output_tokens ?? 4096,
    ...(req.instructions ? { system: req.instructions } : {}),
    messages: toAnthropicMessages(req.messages),
    ...(req.tools.length ? { tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.input_schema })) } : {}),
    stream: true,
  };
  const res = await postStream(
    endpoint,
    `${endpoint.base_url}/v1/messages`,
    { ...anthropicHeaders(endpoint), accept: 'text/event-stream' },
    body,
    hooks.signal,
  );
  let text = '';
  let finish = 'end_turn';
  const usage = { input_tokens: 0, output_tokens: 0 };
  const blocks = new Map<number, { kind: string; id: string; name: string; json: string }>();
  let stopped = false;
  const count = outputMeter(res.status);
  for await (const msg of providerEvents(res)) {
    hooks.onChunk();
    let ev: StreamEvent;
    try {
      ev = JSON.parse(msg.data) as StreamEvent;
    } catch {
      throw new ProviderError('Model provider sent a malformed stream event', res.status, true);
    }
    switch (ev.type) {
      case 'message_start':
        usage.input_tokens = ev.message?.usage?.input_tokens ?? 0;
        usage.output_tokens = ev.message?.usage?.output_tokens ?? 0;
        break;
      case 'content_block_start':
        blocks.set(ev.index ?? 0, { kind: ev.content_block?.type ?? 'text', id: ev.content_block?.id ?? '', name: ev.content_block?.name ?? '', json: '' });
        break;
      case 'content_block_delta': {
        const b = blocks.get(ev.index ?? 0);
        if (ev.delta?.type === 'text_delta' && ev.delta.text) {
          count(ev.delta.text);
          text += ev.delta.text;
          hooks.onDelta(ev.delta.text);
        } else if (ev.delta?.type === 'input_json_delta' && b) {
          count(ev.delta.partial_json ?? '');
          b.json += ev.delta.partial_json ?? '';
        }
        break;
      }
      case 'message_delta':
        if (ev.delta?.stop_reason) finish = ev.delta.stop_reason;
        if (ev.usage?.output_tokens !== undefined) usage.output_tokens = ev.usage.output_tokens;
        if (ev.usage?.input_tokens !== undefined) usage.input_tokens = ev.usage.input_tokens;
        break;
      case 'message_stop':
        stopped = true;
        break;
      case 'error':
        throw new ProviderError(`Model provider error: ${ev.error?.message ?? 'unknown'}`, res.status, ev.error?.type !== 'invalid_request_error');
      default:
        break; // ping, content_block_stop
    }
    if (stopped) break;
  }
  if (!stopped) throw new ProviderError('Model stream ended before message_stop', res.status, true);
  const tool_calls = [...blocks.entries()]
    .sort((a, b) => a[0] - b[0])
    .filter(([, b]) => b.kind === 'tool_use')
    .map(([, b]) => ({ provider_id: b.id, name: b.name, arguments_json: b.json === '' ? '{}' : b.json }));
  return { text, tool_calls, usage, finish_reason: finish };
};
