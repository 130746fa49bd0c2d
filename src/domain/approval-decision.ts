// The shape check of an approval decision signal. Zod-free, apart from approval.ts: the run workflow uses
// it (see defaults.ts).
import type { ApprovalDecision } from './approval';

/** Whether a signal's value has the shape of a decision (a refused payload arrives as `undefined`). */
export function isApprovalDecision(d: unknown): d is ApprovalDecision {
  const v = d as Partial<ApprovalDecision> | null | undefined;
  return !!v && typeof v === 'object' && typeof v.approval_id === 'string' && (v.decision === 'approve' || v.decision === 'deny');
}
