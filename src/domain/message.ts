// The conversation format shared by the API, the session transcript, the workflow and the provider
// adapters. Its shape is the wire shape of API.md 3.1 (content parts with `type`).

export interface TextPart {
  type: 'input_text' | 'output_text';
  text: string;
}

/** An uploaded file in a user message (API.md 11): only its id is stored, in the run and the transcript. */
export interface FilePart {
  type: 'input_file';
  file_id: string;
}

/**
 * An image file's bytes, put in place of its `input_file` part inside the model call activity only
 * (never stored, never in workflow history), for the provider adapters to send.
 */
export interface ImagePart {
  type: 'input_image';
  media_type: string;
  /** base64 */
  data: string;
}

export interface ToolCall {
  /** Platform id (`tc_...`); also sent to providers as their tool-call id. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface UserMessage {
  role: 'user';
  content: (TextPart | FilePart | ImagePart)[];
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

/** The text of a message's text parts (files and images have none here). */
export const textOf = (m: { content: (TextPart | FilePart | ImagePart)[] }): string => m.content.map((p) => ('text' in p ? p.text : '')).join('');
