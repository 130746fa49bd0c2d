// The run-event catalogue (API.md 3.2): the data of every event type, as one zod discriminated union.
// Workflows type what they emit with it (`RunEventData<T>`, type-only: no zod in the workflow bundle);
// the event store checks each event against it; the API, webhooks, the OpenAI-compatible stream, the
// replay audit, the CLI and the dashboard read events as `RunEvent`; /openapi.json publishes it, so that
// clients can generate their types from it.
//
// Objects are open (unknown fields pass): a client must accept fields added later. Fields that only some
// runs have are optional, with the case named: an action invocation (API.md 13, `workflows/action.ts`)
// is a run with its own `run.started` and end events.
import { z } from 'zod';
import { APPROVAL_STATUSES } from './approval';
import { RUN_STATUSES } from './run';
import { EVENT_TYPES } from './event';

const toolCall = z.object({ id: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()) }).meta({ id: 'ToolCall' });
const decider = z.object({ key_id: z.string(), name: z.string() });
export const usageSchema = z
  .object({
    input_tokens: z.number(),
    output_tokens: z.number(),
    model_calls: z.number(),
    tool_calls: z.number(),
    steps: z.number(),
    cost_usd: z.number(),
  })
  .meta({ id: 'Usage', description: "What the run used so far (API.md 3)" });
const error = z.object({ code: z.string(), message: z.string() });
const runStatus = z.enum(RUN_STATUSES);
const textPart = z.object({ type: z.enum(['output_text', 'input_text']), text: z.string() });

/** The data of each stored event type. */
export const RUN_EVENT_DATA = {
  'run.queued': z.object({}),
  'run.started': z.object({
    request_id: z.string().nullable().optional().describe('The request that created the run'),
    tool: z.string().optional().describe('An action invocation: the tool it calls'),
    dry_run: z.boolean().optional().describe('An action invocation: whether it runs in dry_run mode'),
  }),
  'step.started': z.object({ step: z.number().int().min(1) }),
  'message.completed': z.object({
    step: z.number().int().min(1),
    message: z.object({ role: z.literal('assistant'), content: z.array(textPart), tool_calls: z.array(toolCall).optional() }),
    usage: z.object({ input_tokens: z.number(), output_tokens: z.number(), cost_usd: z.number() }).describe('This model call only'),
    card: z.string().optional().describe('The model card that answered (a fallback when the primary failed)'),
    model: z.string().optional(),
    finish_reason: z.string().optional(),
  }),
  'tool_call.requested': z.object({ step: z.number().int().min(1).optional(), tool_call: toolCall }),
  'policy.decided': z.object({
    tool_call_id: z.string(),
    name: z.string(),
    action: z.enum(['allow', 'deny', 'require_approval']),
    rule_id: z.string(),
    reason: z.string(),
    edited_arguments: z.literal(true).optional().describe('Decided again on the arguments an approver edited'),
  }),
  'approval.requested': z.object({
    approval: z.object({
      id: z.string(),
      tool_call: toolCall,
      effect: z.string(),
      policy_rule_id: z.string(),
      reason: z.string(),
      preview: z.unknown(),
      status: z.enum(APPROVAL_STATUSES).describe('pending when requested'),
      requested_at: z.string(),
      expires_at: z.string(),
      decided_at: z.string().nullable().optional(),
      decided_by: decider.nullable().optional(),
      comment: z.string().nullable().optional(),
      decision: z.unknown().optional(),
    }),
  }),
  'approval.decided': z.object({
    approval_id: z.string(),
    tool_call_id: z.string(),
    status: z.enum(['approved', 'denied', 'expired']),
    decided_by: decider.nullable(),
    comment: z.string().nullable(),
    arguments: z.record(z.string(), z.unknown()).optional().describe('Approved with edited arguments'),
    reason: z.string().optional().describe('Denied: the reason given'),
  }),
  'tool_call.required': z.object({ tool_call_id: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()), expires_at: z.string() }),
  'auth.required': z.object({ tool_call_id: z.string(), name: z.string(), connection: z.string(), authorization_url: z.string(), expires_at: z.string() }),
  'tool_call.started': z.object({
    tool_call_id: z.string(),
    name: z.string(),
    arguments: z.record(z.string(), z.unknown()).optional().describe('The arguments run, when an approver edited them'),
  }),
  'tool_call.completed': z.object({
    tool_call_id: z.string(),
    name: z.string(),
    output: z.unknown(),
    dry_run: z.literal(true).optional(),
    cached: z.literal(true).optional().describe("The stored answer of an identical earlier call within the tool's cache_ttl_seconds; the tool was not called"),
  }),
  'skill.loaded': z.object({ tool_call_id: z.string(), skill_id: z.string(), files: z.array(z.string()) }),
  'tool_call.failed': z.object({ tool_call_id: z.string(), name: z.string(), error }),
  'step.completed': z.object({ step: z.number().int().min(1) }),
  'run.status_changed': z.object({ from: runStatus, to: runStatus }),
  'run.completed': z.object({
    output_text: z.string().nullable().optional(),
    usage: usageSchema.optional(),
    result: z.unknown().optional().describe('An action invocation: its result'),
    error: z.unknown().optional().describe('An action invocation: null'),
  }),
  'run.failed': z.object({
    error: error.nullable(),
    usage: usageSchema.optional(),
    result: z.unknown().optional().describe('An action invocation: null'),
  }),
  'run.canceled': z.object({ usage: usageSchema.optional() }),
} satisfies Record<Exclude<(typeof EVENT_TYPES)[number], 'message.delta'>, z.ZodType>;

export type StoredEventType = keyof typeof RUN_EVENT_DATA;
export type RunEventData<T extends StoredEventType> = z.input<(typeof RUN_EVENT_DATA)[T]>;

/** How workflow code emits an event: the data's shape follows the type. */
export type Emit = <T extends StoredEventType>(type: T, data: RunEventData<T>) => void;

const envelope = {
  id: z.string(),
  object: z.literal('run.event'),
  run_id: z.string(),
  seq: z.number().int().min(1),
  /** Its place in the session's log (API.md 16): gapless across the session's runs. */
  session_seq: z.number().int().min(1),
  created_at: z.string(),
};

const variants = (Object.keys(RUN_EVENT_DATA) as StoredEventType[]).map((type) =>
  z.object({ ...envelope, type: z.literal(type), data: RUN_EVENT_DATA[type] }).meta({ id: eventSchemaId(type) }),
);

function eventSchemaId(type: string): string {
  return `RunEvent_${type.replace(/[._]([a-z])/g, (_m, c: string) => c.toUpperCase()).replace(/^[a-z]/, (c) => c.toUpperCase())}`;
}

/** A stored run event, as the API, webhooks and the CLI show it. */
export const runEventSchema = z
  .discriminatedUnion('type', variants as unknown as [(typeof variants)[number], ...(typeof variants)[number][]])
  .meta({ id: 'RunEvent', description: 'A stored run event (API.md 3.2): `data` by `type`' });

export type RunEvent = { [T in StoredEventType]: { id: string; object: 'run.event'; run_id: string; seq: number; session_seq: number; created_at: string; type: T; data: z.output<(typeof RUN_EVENT_DATA)[T]> } }[StoredEventType];

/** An event as the workflow emits it (in its history: activity inputs, local-activity results), before it is stored. */
const emittedVariants = (Object.keys(RUN_EVENT_DATA) as StoredEventType[]).map((type) => z.object({ seq: z.number().int().min(1), type: z.literal(type), data: RUN_EVENT_DATA[type] }));
export const emittedEventSchema = z.discriminatedUnion('type', emittedVariants as unknown as [(typeof emittedVariants)[number], ...(typeof emittedVariants)[number][]]);
export type EmittedEvent = { [T in StoredEventType]: { seq: number; type: T; data: z.output<(typeof RUN_EVENT_DATA)[T]> } }[StoredEventType];

/** A token delta frame of an SSE stream (`?include=deltas`, `stream: true`): never stored, no `seq`. */
export const runDeltaSchema = z
  .object({
    object: z.literal('run.delta'),
    type: z.literal('message.delta'),
    run_id: z.string(),
    data: z.object({ step: z.number().int(), attempt: z.number().int(), text: z.string() }),
  })
  .meta({ id: 'RunDelta', description: 'A token delta (API.md 3.2): a new attempt starts over; message.completed is authoritative' });

export type RunDelta = z.output<typeof runDeltaSchema>;

/** Checks an event the workflow emitted against the catalogue: the issues, none when it matches. */
export function eventIssues(type: string, data: unknown): string[] {
  const schema = (RUN_EVENT_DATA as Record<string, z.ZodType | undefined>)[type];
  if (!schema) return [`unknown event type ${type}`];
  const parsed = schema.safeParse(data);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${type} data.${i.path.join('.')}: ${i.message}`);
}
