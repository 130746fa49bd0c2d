// The OpenAI-compatible agent endpoint (API.md 7): the Chat Completions request shape.
import { z } from 'zod';

const textContent = z.union([
  z.string().max(1_000_000),
  z.array(z.object({ type: z.literal('text'), text: z.string().max(1_000_000) }).passthrough()).max(100),
]);

export const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textContent, name: z.string().optional() }).passthrough(),
  z.object({ role: z.literal('developer'), content: textContent, name: z.string().optional() }).passthrough(),
  z.object({ role: z.literal('user'), content: textContent, name: z.string().optional() }).passthrough(),
  z.object({ role: z.literal('assistant'), content: textContent.nullable().optional() }).passthrough(),
]);

/** Unknown OpenAI parameters (temperature, ...) are accepted and ignored: the agent decides them. */
export const chatCompletionSchema = z
  .object({
    model: z.string().min(1).max(80),
    messages: z.array(chatMessageSchema).min(1).max(500),
    stream: z.boolean().default(false),
    user: z.string().min(1).max(255).optional(),
  })
  .passthrough();

export type ChatCompletionRequest = z.infer<typeof chatCompletionSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const contentText = (c: ChatMessage['content']): string =>
  c == null ? '' : typeof c === 'string' ? c : c.map((p) => p.text).join('');
