// The conversation format shared by the API, the session transcript, the workflow and the provider
// adapters. Its shape is the wire shape of API.md 3.1 (content parts with `type`).

export interface TextPart {
  type: 'input_text' | 'output_text';
  text: string;
}

export interface ToolCall {
  /** Platform id (`tc_...`); also sent to providers as their tool-call id. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface UserMessage {
  role: 'user';
  content: TextPart[];
}

export interface AssistantMessage {
  role: 'assistant';
  content: TextPart[];
  tool_calls?: ToolCall[];
}

export interface ToolResultMessage {
  role: 'tool';
  tool_call_id: string;
  name: string;
  content: TextPart[];
  is_error: boolean;
}

export type Message = UserMessage | AssistantMessage | ToolResultMessage;

export const textOf = (m: { content: TextPart[] }): string => m.content.map((p) => p.text).join('');
