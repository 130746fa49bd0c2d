// The audit log's hash chain: hash = HMAC-SHA256(key, prev_hash + canonical JSON of the record), the key
// derived from AP_MASTER_KEY (SecretBox.audit), so that someone who can write the database but does not
// hold the master key cannot recompute a valid chain after an edit. Appends to one workspace's chain are
// serialized with an advisory lock, and batched in each process (appendAudit).
//
// Records written before the chain was keyed (key_id NULL) keep their plain SHA-256 hashes: the log is
// append-only, so instead of re-chaining it the migrator appends one keyed `audit.chain_keyed` record to
// each such chain. That record's HMAC covers the last legacy hash, so any later rewrite of the legacy
// part (hashes recomputed or not) breaks the link into it. Verify accepts legacy records only as a
// prefix that such a keyed record closes.
import crypto from 'node:crypto';
import type pg from 'pg';
import { canonicalJson } from '../domain/policy';
import type { KeyedMac } from '../security/secrets';
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

export type AuditEntry = Pick<AuditRecord, 'workspace_id' | 'actor' | 'action' | 'target' | 'request_id' | 'data'>;

const GENESIS = '0'.repeat(64);
const VERIFY_PAGE_SIZE = 1000;

const hashInput = (r: Omit<AuditRecord, 'hash'>): string => {
  const { prev_hash, ...rest } = r;
  return prev_hash + canonicalJson(rest);
};

/** The unkeyed hash of records written before the chain was keyed. */
export const legacyHash = (r: Omit<AuditRecord, 'hash'>): string => crypto.createHash('sha256').update(hashInput(r)).digest('hex');

interface Waiting {
  entry: AuditEntry;
  mac: KeyedMac;
  resolve: (r: AuditRecord) => void;
  reject: (err: unknown) => void;
}

/** The entries waiting for their workspace's chain, per pool and workspace (present while an append runs). */
const waiting = new WeakMap<Db, Map<string, Waiting[]>>();
const BATCH = 100;

/**
 * Appends to one workspace's chain wait in this process's memory, not on pooled connections: one
 * transaction at a time per workspace holds the chain (the advisory lock still orders processes) and
 * appends every entry that arrived meanwhile. At 100 run creates/s into one workspace, one append
 * transaction per request had most of the pool waiting on that lock and the API shedding creates.
 */
export function appendAudit(db: Db, mac: KeyedMac, entry: AuditEntry): Promise<AuditRecord> {
  let byWorkspace = waiting.get(db);
  if (!byWorkspace) waiting.set(db, (byWorkspace = new Map()));
  const queue = byWorkspace.get(entry.workspace_id);
  return new Promise((resolve, reject) => {
    if (queue) queue.push({ entry, mac, resolve, reject });
    else {
      byWorkspace.set(entry.workspace_id, [{ entry, mac, resolve, reject }]);
      void drain(db, byWorkspace, entry.workspace_id);
    }
  });
}

async function drain(db: Db, byWorkspace: Map<string, Waiting[]>, ws: string): Promise<void> {
  const queue = byWorkspace.get(ws)!;
  try {
    while (queue.length) {
      const batch = queue.splice(0, BATCH);
      try {
        const records = await transaction(db, (c) => appendOn(c, batch));
        batch.forEach((w, i) => w.resolve(records[i]!));
      } catch (err) {
        // One entry the database refuses (a data error) must not fail the others: alone, each fails only
        // for itself. Any other failure (the connection, the commit) fails the batch: retried one by one,
        // a commit that did land would be appended twice, and each would wait out the pool's timeout.
        if (batch.length === 1 || !isDataError(err)) for (const w of batch) w.reject(err);
        else for (const w of batch) await transaction(db, (c) => appendOn(c, [w])).then((r) => w.resolve(r[0]!), w.reject);
      }
    }
  } finally {
    byWorkspace.delete(ws);
    for (const w of queue.splice(0)) w.reject(new Error('audit append abandoned'));
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the entry's own fault. */
const isDataError = (err: unknown): boolean => /^2[23]/.test(String((err as { code?: unknown })?.code ?? ''));

async function appendOn(c: pg.PoolClient, batch: Pick<Waiting, 'entry' | 'mac'>[]): Promise<AuditRecord[]> {
  const ws = batch[0]!.entry.workspace_id;
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit:${ws}`]);
  const prev = await c.query<{ hash: string }>('SELECT hash FROM audit_log WHERE workspace_id = $1 ORDER BY seq DESC LIMIT 1', [ws]);
  const seqs = (await c.query<{ n: string }>("SELECT nextval('audit_log_seq_seq') AS n FROM generate_series(1, $1)", [batch.length])).rows
    .map((r) => Number(r.n))
    .sort((a, b) => a - b);
  let prevHash = prev.rows[0]?.hash ?? GENESIS;
  const records = batch.map(({ entry, mac }, i) => {
    const record: Omit<AuditRecord, 'hash'> = { seq: seqs[i]!, ...entry, at: new Date().toISOString(), prev_hash: prevHash };
    prevHash = mac.mac(hashInput(record))!;
    return { ...record, hash: prevHash, key_id: mac.currentId };
  });
  await c.query(
    `INSERT INTO audit_log (seq, workspace_id, at, actor, action, target, request_id, data, prev_hash, hash, key_id)
     SELECT r.seq, r.workspace_id, r.at, r.actor, r.action, r.target, r.request_id, r.data, r.prev_hash, r.hash, r.key_id
       FROM jsonb_to_recordset($1::jsonb) AS r(seq bigint, workspace_id text, at timestamptz, actor jsonb, action text, target text,
                                                request_id text, data jsonb, prev_hash text, hash text, key_id text)`,
    [JSON.stringify(records)],
  );
  const head = records[records.length - 1]!;
  await c.query('UPDATE workspaces SET audit_head_seq = $2, audit_head_hash = $3 WHERE id = $1', [ws, head.seq, head.hash]);
  return records.map(({ key_id: _k, ...r }) => r);
}

/**
 * Migration step: closes every chain that still ends in legacy (unkeyed) records with a keyed record.
 * Idempotent: a chain that ends in a keyed record is left alone.
 */
export async function anchorLegacyChains(c: pg.PoolClient, mac: KeyedMac | undefined): Promise<number> {
  const open = await c.query<{ workspace_id: string; seq: string; hash: string }>(
    `SELECT workspace_id, seq, hash FROM (SELECT DISTINCT ON (workspace_id) workspace_id, seq, hash, key_id FROM audit_log ORDER BY workspace_id, seq DESC) last
      WHERE key_id IS NULL`,
  );
  if (open.rows.length && !mac) throw new Error('The audit log has unkeyed chains: keying them needs the master key (AP_MASTER_KEY)');
  for (const r of open.rows) {
    const entry: AuditEntry = {
      workspace_id: r.workspace_id,
      actor: { key_id: null, name: 'migration', roles: [] },
      action: 'audit.chain_keyed',
      target: null,
      request_id: null,
      data: { legacy_head_seq: Number(r.seq), legacy_head_hash: r.hash },
    };
    await appendOn(c, [{ entry, mac: mac! }]);
  }
  return open.rows.length;
}

interface Row extends Omit<AuditRecord, 'seq' | 'at'> {
  seq: string;
  at: Date;
  key_id: string | null;
}

const toRecord = ({ key_id: _k, ...r }: Row): AuditRecord => ({ ...r, seq: Number(r.seq), at: r.at.toISOString() });

export async function listAudit(db: Db, ws: string, f: { after?: number; type?: string; target?: string; limit: number }): Promise<AuditRecord[]> {
  const r = await db.query<Row>(
    `SELECT * FROM audit_log WHERE workspace_id = $1 AND seq > $2 AND ($3::text IS NULL OR action = $3 OR action LIKE $3 || '.%')
        AND ($4::text IS NULL OR target = $4) ORDER BY seq LIMIT $5`,
    [ws, f.after ?? 0, f.type ?? null, f.target ?? null, f.limit + 1],
  );
  return r.rows.map(toRecord);
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  first_bad_seq: number | null;
}

/**
 * Walks the workspace's chain in seq order, one page at a time (memory stays bounded by the page): an edit
 * breaks a MAC, a deletion or reorder breaks a link. The head and the last seq are read first, in one
 * statement; records appended while the walk runs lie beyond that bound and wait for the next verify.
 */
export async function verifyAudit(db: Db, mac: KeyedMac, ws: string, opts: { pageSize?: number } = {}): Promise<AuditVerification> {
  const pageSize = opts.pageSize ?? VERIFY_PAGE_SIZE;
  const bound = (
    await db.query<{ head_seq: string | null; head_hash: string | null; last_seq: string | null }>(
      `SELECT w.audit_head_seq AS head_seq, w.audit_head_hash AS head_hash, (SELECT max(seq) FROM audit_log WHERE workspace_id = $1) AS last_seq
         FROM workspaces w WHERE w.id = $1`,
      [ws],
    )
  ).rows[0];
  const upTo = Math.max(Number(bound?.head_seq ?? 0), Number(bound?.last_seq ?? 0));
  let prev = GENESIS;
  let checked = 0;
  let keyed = false;
  let last: Row | undefined;
  for (;;) {
    const page = (
      await db.query<Row>('SELECT * FROM audit_log WHERE workspace_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4', [ws, last?.seq ?? 0, upTo, pageSize])
    ).rows;
    for (const row of page) {
      checked++;
      const { hash, ...rest } = toRecord(row);
      // A legacy record after a keyed one is a rewrite: legacy records are only ever a prefix.
      const expected = row.key_id === null ? (keyed ? undefined : legacyHash(rest)) : mac.mac(hashInput(rest), row.key_id);
      if (row.key_id !== null) keyed = true;
      if (rest.prev_hash !== prev || expected === undefined || !sameHex(expected, hash)) return { ok: false, checked, first_bad_seq: rest.seq };
      prev = hash;
      last = row;
    }
    if (page.length < pageSize) break;
  }
  // A chain may not end in legacy records: the migrator closed each one with a keyed record.
  if (last && last.key_id === null) return { ok: false, checked, first_bad_seq: Number(last.seq) + 1 };
  if ((bound?.head_hash ?? null) !== (last ? last.hash : null)) {
    // The newest records are gone (or the head was moved): the break is just after what remains.
    return { ok: false, checked, first_bad_seq: last ? Number(last.seq) + 1 : 1 };
  }
  return { ok: true, checked, first_bad_seq: null };
}

const sameHex = (a: string, b: string): boolean => a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
