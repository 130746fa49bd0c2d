// A tool call's answer as the model gets it: the output as text (JSON unless a string), marked as an error or not.
import type { CheckedToolCall } from '../activities/model';
import type { ToolResultMessage } from '../src/domain/message';

export function toolResult(call: CheckedToolCall, output: unknown, isError: boolean): ToolResultMessage {
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  return { role: 'tool', tool_call_id: call.id, name: call.name, content: [{ type: 'output_text', text }], is_error: isError };
}
