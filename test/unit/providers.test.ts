// Wire mapping of the transcript to each provider's request format, and the SSE decoder.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/domain/message';
import { toAnthropicMessages } from '../../src/providers/anthropic';
import { toChatMessages } from '../../src/providers/openai';
import { decodeSse } from '../../src/providers/sse-decoder';

const transcript: Message[] = [
  { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
  { role: 'assistant', content: [], tool_calls: [{ id: 'tc_1', name: 'weather', arguments: { city: 'A' } }, { id: 'tc_2', name: 'weather', arguments: { city: 'B' } }] },
  { role: 'tool', tool_call_id: 'tc_1', name: 'weather', content: [{ type: 'output_text', text: '{"t":1}' }], is_error: false },
  { role: 'tool', tool_call_id: 'tc_2', name: 'weather', content: [{ type: 'output_text', text: 'boom' }], is_error: true },
  { role: 'assistant', content: [{ type: 'output_text', text: 'Done.' }] },
];

describe('provider message mapping', () => {
  it('OpenAI: system first, assistant tool_calls with JSON string arguments, tool messages by id', () => {
    const m = toChatMessages('Be brief.', transcript);
    expect(m[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(m[2]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'tc_1', type: 'function', function: { name: 'weather', arguments: '{"city":"A"}' } },
        { id: 'tc_2', type: 'function', function: { name: 'weather', arguments: '{"city":"B"}' } },
      ],
    });
    expect(m[3]).toEqual({ role: 'tool', tool_call_id: 'tc_1', content: '{"t":1}' });
    expect(m[5]).toEqual({ role: 'assistant', content: 'Done.' });
  });

  it('Anthropic: alternating roles, tool results grouped in one user turn, errors flagged', () => {
    const m = toAnthropicMessages(transcript);
    expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(m[1]!.content).toEqual([
      { type: 'tool_use', id: 'tc_1', name: 'weather', input: { city: 'A' } },
      { type: 'tool_use', id: 'tc_2', name: 'weather', input: { city: 'B' } },
    ]);
    expect(m[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: 'tc_1', content: '{"t":1}' },
      { type: 'tool_result', tool_use_id: 'tc_2', content: 'boom', is_error: true },
    ]);
  });
});

describe('SSE decoder', () => {
  async function* bytes(...parts: string[]) {
    for (const p of parts) yield new TextEncoder().encode(p);
  }
  it('handles split chunks, CRLF, comments, multi-line data and ids per message', async () => {
    const out = [];
    for await (const m of decodeSse(bytes('id: 1\r\nevent: a\r\ndata: x', '\r\ndata: y\r\n\r\n: keepalive\n\n', 'event: b\ndata: {"z":1}\n\n'))) out.push(m);
    expect(out).toEqual([
      { id: '1', event: 'a', data: 'x\ny' },
      { id: undefined, event: 'b', data: '{"z":1}' },
    ]);
  });
});
