// The `echo` provider: a scripted model built into the platform, with no network and no key, so that a
// first run (README) works without a provider account (issue 19). Deterministic: while the last user
// message has no tool result after it and the agent offers tools, it calls the first offered tool once,
// with arguments made from that tool's input schema; otherwise it answers by quoting the user's last
// message and the tools' results. The answer streams word by word, like a provider's.
import { textOf } from '../domain/message';
import type { ModelAdapter, ModelTool } from './types';

const MAX_QUOTE = 500;

const clip = (s: string): string => (s.length > MAX_QUOTE ? `${s.slice(0, MAX_QUOTE)}…` : s);

/** A value for each required property of the schema: the user's words for strings, the first enum value, 1, true. */
function argumentsFor(tool: ModelTool, said: string): Record<string, unknown> {
  const schema = (tool.input_schema ?? {}) as { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] };
  const out: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const p = schema.properties?.[name] ?? {};
    if (p.enum?.length) out[name] = p.enum[0];
    else if (p.type === 'number' || p.type === 'integer') out[name] = 1;
    else if (p.type === 'boolean') out[name] = true;
    else if (p.type === 'object') out[name] = {};
    else if (p.type === 'array') out[name] = [];
    else out[name] = clip(said);
  }
  return out;
}

const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;

export const callEcho: ModelAdapter = async (_endpoint, request, hooks) => {
  const lastUser = request.messages.map((m, i) => ({ m, i })).filter(({ m }) => m.role === 'user').at(-1);
  const said = lastUser ? textOf(lastUser.m).trim() : '';
  const after = lastUser ? request.messages.slice(lastUser.i + 1) : request.messages;
  const results = after.filter((m) => m.role === 'tool');
  const inputTokens = request.messages.reduce((n, m) => n + words(textOf(m)), words(request.instructions));
  const tool = request.tools[0];
  if (tool && results.length === 0) {
    hooks.onChunk();
    return {
      text: '',
      tool_calls: [{ name: tool.name, arguments_json: JSON.stringify(argumentsFor(tool, said)), provider_id: `echo_${request.messages.length}` }],
      usage: { input_tokens: inputTokens, output_tokens: 1 },
      finish_reason: 'tool_calls',
    };
  }
  const answered = results.map((m) => `${m.role === 'tool' ? m.name : 'The tool'} answered ${clip(textOf(m))}.`);
  const text = [`You said: "${clip(said)}".`, ...answered].join(' ');
  for (const piece of text.match(/\S+\s*/g) ?? []) {
    if (hooks.signal.aborted) throw hooks.signal.reason ?? new Error('aborted');
    hooks.onChunk();
    hooks.onDelta(piece);
  }
  return { text, tool_calls: [], usage: { input_tokens: inputTokens, output_tokens: words(text) }, finish_reason: 'stop' };
};
