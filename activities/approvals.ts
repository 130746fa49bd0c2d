// Verification of approval decisions signaled to a workflow (a local activity of the tool gate): the
// workflow sandbox has no crypto, so the HMAC of the API's proof is checked here. A decision without a
// valid proof was sent to Temporal past the API (the Web UI, another client): it is refused and audited.
import { Context } from '@temporalio/activity';
import { appendAudit } from '../src/db/audit';
import type { ApprovalDecision } from '../src/domain/approval';
import { verifyDecision } from '../src/security/approval-proof';
import { validateArguments } from '../src/core/json-schema';
import type { ActivityDeps } from './deps';
import { activityLog } from './log';

export interface DecisionCandidate {
  approval_id: string;
  /** The tool's input schema as the run knows it: edited arguments must still match it. */
  input_schema?: Record<string, unknown>;
  decision: ApprovalDecision;
}

export interface DecisionCheckInput {
  workspace_id: string;
  run_id: string;
  request_id: string | null;
  candidates: DecisionCandidate[];
}

/** A forged decision's decider as sent (any shape), clipped: the audit record must stay small. */
const claimedDecider = (d: unknown): { key_id: string | null; name: string | null } | null => {
  if (!d || typeof d !== 'object') return null;
  const clip = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, 200) : null);
  return { key_id: clip((d as { key_id?: unknown }).key_id), name: clip((d as { name?: unknown }).name) };
};

export type DecisionCheck = { accepted: true; arguments_error?: string } | { accepted: false; reason: string };

export function createApprovalActivities({ db, config, log, secrets }: ActivityDeps) {
  return {
    /** One verdict per candidate, in order. Pure but for the audit record of a refusal (best effort). */
    async verifyApprovalDecisions(input: DecisionCheckInput): Promise<DecisionCheck[]> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      const ids = { run_id: input.run_id, workspace_id: input.workspace_id, request_id: input.request_id };
      const out: DecisionCheck[] = [];
      for (const c of input.candidates) {
        const d = c.decision;
        // The signal names the approval; the workflow's own record is what the proof must be for.
        if (d.approval_id !== c.approval_id || !verifyDecision(config, workflowId, d)) {
          const reason = d.proof === undefined ? 'no proof' : 'invalid proof';
          out.push({ accepted: false, reason });
          activityLog(log, ids).warn({ approval_id: c.approval_id, reason }, 'refused an approval decision that the API did not record');
          await appendAudit(db, secrets.audit, {
            workspace_id: input.workspace_id,
            actor: { key_id: null, name: 'worker', roles: [] },
            action: 'approval.decision_refused',
            target: c.approval_id,
            request_id: input.request_id,
            data: { run_id: input.run_id, reason, decision: d.decision, claimed_decided_by: claimedDecider(d.decided_by) },
          }).catch((err: unknown) => activityLog(log, ids).warn({ err }, 'could not audit a refused approval decision'));
          continue;
        }
        let error: string | null = null;
        if (d.decision === 'approve' && d.arguments && c.input_schema) {
          try {
            error = validateArguments(c.input_schema, d.arguments);
          } catch (err) {
            error = (err as Error).message;
          }
        }
        out.push(error ? { accepted: true, arguments_error: error } : { accepted: true });
      }
      return out;
    },
  };
}
