// Approvals (API.md 4) and client tool resolutions (API.md 3.3): request bodies and the records the
// workflow writes. The workflow is the authority on whether an approval is still pending.
import { z } from 'zod';
import { cursorSchema } from './common';

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'canceled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const approveSchema = z.strictObject({
  comment: z.string().max(4000).optional(),
  arguments: z.record(z.string(), z.unknown()).optional(),
});

export const denySchema = z.strictObject({
  reason: z.string().trim().min(1).max(4000),
  comment: z.string().max(4000).optional(),
});

export const approvalListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
  status: z.enum(APPROVAL_STATUSES).optional(),
  run_id: z.string().min(1).max(100).optional(),
  agent: z.string().min(1).max(64).optional(),
});

export const resolveToolSchema = z.union([
  z.strictObject({ tool_call_id: z.string().min(1).max(100), output: z.unknown().refine((v) => v !== undefined, 'is required') }),
  z.strictObject({ tool_call_id: z.string().min(1).max(100), error: z.strictObject({ message: z.string().min(1).max(10_000) }) }),
]);

export interface Decider {
  key_id: string;
  name: string;
}

/** What the API signals to the run workflow when a human decides. */
export interface ApprovalDecision {
  approval_id: string;
  decision: 'approve' | 'deny';
  arguments?: Record<string, unknown>;
  comment?: string;
  reason?: string;
  decided_by: Decider;
  /**
   * HMAC by the API over `decisionProofMessage` (src/security/approval-proof.ts): the workflow accepts
   * a decision only when it verifies, so a signal sent to Temporal past the API decides nothing.
   */
  proof?: string;
}

export { isApprovalDecision } from './approval-decision';

/**
 * What the proof covers: the workflow and approval it is for, the decision, the decided arguments (as a
 * hash of their canonical JSON; `null` when approved as requested) and the decider, reason and comment.
 * `argumentsHash` is passed in: the domain has no crypto (workflows import it).
 */
export function decisionProofMessage(workflowId: string, d: ApprovalDecision, argumentsHash: string): string {
  return JSON.stringify([
    'approval-decision/v1',
    workflowId,
    d.approval_id,
    d.decision,
    argumentsHash,
    d.decided_by?.key_id ?? null,
    d.decided_by?.name ?? null,
    d.reason ?? null,
    d.comment ?? null,
  ]);
}

/** What the caller signals when it has executed a client tool. */
export interface ToolResolution {
  tool_call_id: string;
  output?: unknown;
  error?: { message: string };
}

/** An approval as the workflow records it (inserted when requested, updated when settled). */
export interface ApprovalRecord {
  id: string;
  tool_call: { id: string; name: string; arguments: Record<string, unknown> };
  effect: string;
  policy_rule_id: string;
  reason: string;
  preview: unknown;
  status: ApprovalStatus;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: Decider | null;
  comment: string | null;
  decision: { arguments?: Record<string, unknown>; reason?: string } | null;
}

export interface ClientToolRecord {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  status: 'pending' | 'resolved' | 'expired' | 'canceled';
  requested_at: string;
  expires_at: string;
  resolved_at: string | null;
}
