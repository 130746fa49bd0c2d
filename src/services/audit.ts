// The audit log (API.md 8) as the API uses it: each audited call's record, the auditor's listing and the
// chain's verification. The chain itself (hashes, batching, the legacy prefix) is src/db/audit.ts.
import { appendAudit, listAudit, verifyAudit, type AuditEntry, type AuditRecord } from '../db/audit';
import type { Principal } from '../domain/workspace';
import type { ServiceDeps } from './deps';

export type { AuditEntry } from '../db/audit';

export const recordAudit = (deps: ServiceDeps, entry: AuditEntry): Promise<AuditRecord> => appendAudit(deps.db, deps.secrets.audit, entry);

/** A page of the workspace's records in seq order; the cursor is the last record's seq. */
export async function listAuditLog(deps: ServiceDeps, p: Principal, q: { limit: number; after?: number; type?: string; target?: string }) {
  const rows = await listAudit(deps.db, p.workspace_id, q);
  const has_more = rows.length > q.limit;
  const data = (has_more ? rows.slice(0, q.limit) : rows).map(({ workspace_id: _w, ...rec }) => ({ object: 'audit_record' as const, ...rec }));
  return { object: 'list' as const, data, has_more, next_cursor: has_more ? String(data[data.length - 1]!.seq) : null };
}

export const verifyAuditLog = (deps: ServiceDeps, p: Principal) => verifyAudit(deps.db, deps.secrets.audit, p.workspace_id);
