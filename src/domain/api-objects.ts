// The response bodies of the main objects (API.md 2-5): run, session, approval, agent, tool. The
// services' view functions are typed by them (a field the schema does not know, or one missing, is a
// compile error), and /openapi.json publishes them with RunEvent, so that clients can generate types.
// Objects are open: a client must accept fields added later.
import { z } from 'zod';
import { agentCreateSchema } from './agent';
import { APPROVAL_STATUSES } from './approval';
import { RUN_STATUSES } from './run';
import { SESSION_STATUSES } from './session';
import { toolCreateSchema } from './tool';
import { usageSchema } from './run-event';

const timestamp = z.string().describe('ISO 8601');
const metadata = z.record(z.string(), z.unknown());
const toolCall = z.object({ id: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()) });
const decider = z.object({ key_id: z.string(), name: z.string() });
const part = z.object({ type: z.string() }).describe('A content part: input_text, output_text or input_file (API.md 3.1)');
const message = z.object({ role: z.enum(['user', 'assistant', 'tool']), content: z.array(part) }).meta({ id: 'Message' });

export const runObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal('run'),
    session_id: z.string(),
    agent_id: z.string(),
    agent_version: z.number().int(),
    status: z.enum(RUN_STATUSES),
    created_at: timestamp.nullable(),
    started_at: timestamp.nullable(),
    completed_at: timestamp.nullable(),
    input: z.array(message),
    output: z.array(message),
    output_text: z.string().nullable(),
    pending_approvals: z.array(z.object({ id: z.string(), tool_call: toolCall })),
    pending_tool_calls: z.array(toolCall),
    pending_authorizations: z.array(z.object({ tool_call_id: z.string(), name: z.string(), connection: z.string(), authorization_url: z.string(), expires_at: timestamp })),
    usage: usageSchema,
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    metadata,
    tool_mode: z.enum(['live', 'dry_run']),
    cancel_reason: z.string().nullable(),
    request_id: z.string().nullable(),
  })
  .meta({ id: 'Run', description: 'A run (API.md 3); GET /v1/runs/:id adds `feedback`' });

export const sessionObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal('session'),
    agent_id: z.string(),
    agent_version: z.number().int(),
    title: z.string().nullable(),
    metadata,
    session_reference: z.string().nullable(),
    user_reference: z.string().nullable(),
    environment_id: z.string().nullable(),
    status: z.enum(SESSION_STATUSES).meta({ description: '`waiting`: a run is paused for a person or a client; `running`: a run is otherwise unfinished; `idle`: none is' }),
    if_busy: z.enum(['reject', 'enqueue']).meta({ description: 'What a message posted while a run is active does (POST /v1/sessions/:id/events and /messages)' }),
    created_at: timestamp.nullable(),
    updated_at: timestamp.nullable(),
  })
  .meta({ id: 'Session', description: 'A session (API.md 3): a conversation pinned to one agent version' });

export const approvalObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal('approval'),
    run_id: z.string().nullable(),
    action_invocation_id: z.string().optional().describe('An approval of an action invocation (API.md 13)'),
    session_id: z.string().nullable(),
    agent_id: z.string().nullable(),
    tool_call: toolCall,
    effect: z.string(),
    policy_rule_id: z.string().nullable(),
    reason: z.string().nullable(),
    preview: z.unknown(),
    status: z.enum(APPROVAL_STATUSES),
    requested_at: timestamp.nullable(),
    expires_at: timestamp.nullable(),
    decided_at: timestamp.nullable(),
    decided_by: decider.nullable(),
    comment: z.string().nullable(),
    decision: z.object({ arguments: z.record(z.string(), z.unknown()).optional(), reason: z.string().optional() }).nullable(),
  })
  .meta({ id: 'Approval', description: 'An approval (API.md 4)' });

export const agentObjectSchema = z
  .object({
    ...agentCreateSchema.shape,
    id: z.string(),
    object: z.literal('agent'),
    version: z.number().int(),
    archived: z.boolean(),
    created_at: timestamp.nullable(),
    updated_at: timestamp.nullable(),
  })
  .meta({ id: 'Agent', description: "An agent (API.md 2): its current version's spec" });

export const toolObjectSchema = z
  .object({
    ...toolCreateSchema.shape,
    id: z.string(),
    object: z.literal('tool'),
    created_at: timestamp.nullable(),
    updated_at: timestamp.nullable(),
  })
  .meta({ id: 'Tool', description: 'A tool (API.md 2)' });

export type RunObject = z.input<typeof runObjectSchema>;
export type SessionObject = z.input<typeof sessionObjectSchema>;
export type ApprovalObject = z.input<typeof approvalObjectSchema>;
export type AgentObject = z.output<typeof agentObjectSchema>;
export type ToolObject = z.output<typeof toolObjectSchema>;

const usageFigures = {
  runs: z.number().int().describe('Runs created in the window (group_by=model: runs with at least one call this model answered)'),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cost_usd: z.number(),
  tool_calls: z.number().int().describe("The runs' tool calls (group_by=model: the tool calls this model asked for)"),
  approvals: z.object({
    requested: z.number().int(),
    approved: z.number().int(),
    denied: z.number().int(),
    expired: z.number().int(),
  }).describe('Approvals of those runs (group_by=model: of the tool calls this model asked for); requested counts pending and canceled ones too'),
  failed_runs: z.number().int(),
  failure_rate: z.number().describe('failed_runs / runs (0 without runs)'),
};

export const usageRowSchema = z
  .object({
    object: z.literal('usage_row'),
    key: z.string().describe('group_by=day: the UTC day (YYYY-MM-DD) the runs were created; agent: the agent id; model: the model that answered'),
    label: z.string().describe("What a person reads: the agent's name for group_by=agent, else the key"),
    ...usageFigures,
  })
  .meta({ id: 'UsageRow', description: 'Usage figures of one group (API.md 16)' });

export const usageReportSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(usageRowSchema),
    has_more: z.literal(false).describe('Never paged: the window (at most 366 days) bounds the rows'),
    next_cursor: z.null(),
    group_by: z.enum(['day', 'agent', 'model']),
    from: timestamp.describe('The window: runs created at or after `from`'),
    to: timestamp.describe('and before `to`'),
    total: z.object({ object: z.literal('usage_total'), ...usageFigures }).describe('The whole window, each run counted once (whatever group_by)'),
  })
  .meta({ id: 'UsageReport', description: 'GET /v1/usage (API.md 16): rows by day (oldest first, every day of the window), or by agent or model (the most expensive first)' });

export type UsageRowObject = z.input<typeof usageRowSchema>;
export type UsageReport = z.input<typeof usageReportSchema>;
