// The audit log's hash chain: hash = sha256(prev_hash + canonical JSON of the record). Appends to one
// workspace's chain are serialized with an advisory lock.
import crypto from 'node:crypto';
import { canonicalJson } from '../domain/policy';
import type { Db } from './pool';
import { transaction } from './pool';

export interface AuditActor {
  key_id: string | null;
  name: string;
  roles: string[];
}

export interface AuditRecord {
  seq: number;
  workspace_id: string;
  at: string;
  actor: AuditActor;
  action: string;
  target: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

export function hashRecord(r: Omit<AuditRecord, 'hash'>): string {
  const { prev_hash, ...rest } = r;
  return crypto.createHash('sha256').update(prev_hash + canonicalJson(rest)).digest('hex');
}

export async function appendAudit(
  db: Db,
  e: { workspace_id: string; actor: AuditActor; action: string; target: string | null; request_id: string | null; data: Record<string, unknown> },
): Promise<AuditRecord> {
  return transaction(db, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit:${e.workspace_id}`]);
    const prev = await c.query<{ hash: string }>('SELECT hash FROM audit_log WHERE workspace_id = $1 ORDER BY seq DESC LIMIT 1', [e.workspace_id]);
    const seq = Number((await c.query<{ n: string }>("SELECT nextval('audit_log_seq_seq') AS n")).rows[0]!.n);
    const record: Omit<AuditRecord, 'hash'> = { seq, ...e, at: new Date().toISOString(), prev_hash: prev.rows[0]?.hash ?? GENESIS };
    const hash = hashRecord(record);
    await c.query(
      `INSERT INTO audit_log (seq, workspace_id, at, actor, action, target, request_id, data, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [seq, e.workspace_id, record.at, e.actor, e.action, e.target, e.request_id, e.data, record.prev_hash, hash],
    );
    await c.query('UPDATE workspaces SET audit_head_seq = $2, audit_head_hash = $3 WHERE id = $1', [e.workspace_id, seq, hash]);
    return { ...record, hash };
  });
}

interface Row extends Omit<AuditRecord, 'seq' | 'at'> {
  seq: string;
  at: Date;
}

const toRecord = (r: Row): AuditRecord => ({ ...r, seq: Number(r.seq), at: r.at.toISOString() });

export async function listAudit(db: Db, ws: string, f: { after?: number; type?: string; target?: string; limit: number }): Promise<AuditRecord[]> {
  const r = await db.query<Row>(
    `SELECT * FROM audit_log WHERE workspace_id = $1 AND seq > $2 AND ($3::text IS NULL OR action = $3 OR action LIKE $3 || '.%')
        AND ($4::text IS NULL OR target = $4) ORDER BY seq LIMIT $5`,
    [ws, f.after ?? 0, f.type ?? null, f.target ?? null, f.limit + 1],
  );
  return r.rows.map(toRecord);
}

/** Walks the workspace's chain in seq order: an edit breaks a hash, a deletion or reorder breaks a link. */
export async function verifyAudit(db: Db, ws: string): Promise<{ ok: boolean; checked: number; first_bad_seq: number | null }> {
  // One snapshot for the rows and the head, so that an append in between is not taken for tampering.
  const { r, head } = await transaction(db, async (c) => {
    await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const rows = await c.query<Row>('SELECT * FROM audit_log WHERE workspace_id = $1 ORDER BY seq', [ws]);
    const h = (await c.query<{ audit_head_seq: string | null; audit_head_hash: string | null }>('SELECT audit_head_seq, audit_head_hash FROM workspaces WHERE id = $1', [ws])).rows[0];
    return { r: rows, head: h };
  });
  let prev = GENESIS;
  let checked = 0;
  for (const row of r.rows) {
    const rec = toRecord(row);
    checked++;
    const { hash, ...rest } = rec;
    if (rec.prev_hash !== prev || hashRecord(rest) !== hash) return { ok: false, checked, first_bad_seq: rec.seq };
    prev = hash;
  }
  const last = r.rows[r.rows.length - 1];
  if ((head?.audit_head_hash ?? null) !== (last ? last.hash : null)) {
    // The newest records are gone (or the head was moved): the break is just after what remains.
    return { ok: false, checked, first_bad_seq: last ? Number(last.seq) + 1 : 1 };
  }
  return { ok: true, checked, first_bad_seq: null };
}
