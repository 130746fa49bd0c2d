// Runs (API.md 3.1): the create body, statuses, usage, and the state the workflow reports.
import { z } from 'zod';
import { cursorSchema, metadataSchema } from './common';
import { limitsSchema, policyRuleSchema } from './agent';
import type { Message, UserMessage } from './message';
import type { RunErrorCode } from './errors';
import { filePartSchema } from './file';
import type { Usage } from './usage';

export const RUN_STATUSES = [
  'queued',
  'running',
  'tool_required',
  'waiting_approval',
  'waiting_auth',
  'completed',
  'failed',
  'canceled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'canceled'];
export const isTerminal = (s: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(s);
/** A run in one of these waits for someone: an approver, the client's tool result, the user's authorization. */
export const PAUSED_STATUSES: readonly RunStatus[] = ['waiting_approval', 'waiting_auth', 'tool_required'];
export const isPaused = (s: string): boolean => (PAUSED_STATUSES as readonly string[]).includes(s);

const textPartSchema = z.strictObject({ type: z.literal('input_text'), text: z.string().min(1).max(1_000_000) });

/** What a user says: text, or content parts. `input_file` parts name an uploaded file (API.md 11); its content is read by the model call, never carried here. */
export const userContentSchema = z.union([z.string().min(1).max(1_000_000), z.array(z.discriminatedUnion('type', [textPartSchema, filePartSchema])).min(1).max(100)]);

const inputMessageSchema = z.strictObject({
  role: z.literal('user'),
  content: userContentSchema,
});

export const runInputSchema = z.union([
  z.string().min(1).max(1_000_000),
  z.array(inputMessageSchema).min(1).max(100),
]);

export const constraintsSchema = limitsSchema
  .omit({ timeout_seconds: true })
  .extend({
    timeout_seconds: z.number().int().min(1).max(30 * 86_400).optional(),
    require_approval_for: z.array(z.string().min(1).max(64)).max(128).optional(),
    allowed_tools: z.array(z.string().min(1).max(64)).max(128).optional(),
    rules: z.array(policyRuleSchema).max(200).optional(),
  })
  .strict();

export const runCreateSchema = z.strictObject({
  input: runInputSchema,
  wait: z.boolean().default(false),
  stream: z.boolean().default(false),
  wait_timeout_seconds: z.number().int().min(1).max(600).default(60),
  constraints: constraintsSchema.default({}),
  metadata: metadataSchema.default({}),
  if_busy: z.enum(['reject', 'enqueue']).default('reject'),
});

export const oneOffRunCreateSchema = runCreateSchema.extend({
  agent: z.string().min(1).max(64),
  /** The new session's environment, by id or name (API.md 11, 16), as `POST /v1/sessions` takes it. */
  environment: z.string().min(1).max(64).optional(),
});

export type RunCreate = z.infer<typeof runCreateSchema>;
export type Constraints = z.infer<typeof constraintsSchema>;

export const runListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
  session_id: z.string().min(1).max(100).optional(),
  agent: z.string().min(1).max(100).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  created_after: z.iso.datetime({ offset: true }).optional(),
});

export const cancelSchema = z.strictObject({ reason: z.string().max(1000).optional() });

export function normalizeInput(input: z.infer<typeof runInputSchema>): UserMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: [{ type: 'input_text', text: input }] }];
  return input.map((m) => ({
    role: 'user',
    content: typeof m.content === 'string' ? [{ type: 'input_text', text: m.content }] : m.content,
  }));
}

export { emptyUsage, type Usage } from './usage';

export interface RunError {
  code: RunErrorCode | 'canceled';
  message: string;
}

export interface PendingToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** What the workflow reports through `runStateQuery` and writes to PostgreSQL at each transition. */
export interface RunState {
  status: RunStatus;
  started_at: string | null;
  completed_at: string | null;
  output: Message[];
  output_text: string | null;
  usage: Usage;
  error: RunError | null;
  pending_approvals: { id: string; tool_call: PendingToolCall }[];
  pending_tool_calls: PendingToolCall[];
  /**
   * While `waiting_auth`: the connections the session's user is asked to authorize (API.md 12), as in
   * their `auth.required` events. Optional: a worker of an older build does not report it.
   */
  pending_authorizations?: PendingAuthorization[];
}

export interface PendingAuthorization {
  tool_call_id: string;
  name: string;
  connection: string;
  authorization_url: string;
  expires_at: string;
}
