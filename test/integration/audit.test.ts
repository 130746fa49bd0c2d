// The audit log: one record per security-relevant action, an append-only table, and a hash chain
// whose verification finds a superuser's edit, deletion or reordering.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/db/audit';
import { migrate } from '../../src/db/migrate';
import { createPool, transaction, type Db } from '../../src/db/pool';
import { canonicalJson } from '../../src/domain/policy';
import { createSecretBox } from '../../src/security/secrets';
import { startToolServer } from '../fixtures/tool-server';
import { canary } from '../support/canaries';
import { Api, env, httpTool, newWorkspace, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = [], replica = false): Promise<pg.QueryResult<T>> {
  const c = new pg.Client({ connectionString: env().databaseUrl });
  await c.connect();
  try {
    // session_replication_role = replica switches user triggers off: only a superuser may do it.
    if (replica) await c.query('SET session_replication_role = replica');
    return await c.query<T>(text, values);
  } finally {
    await c.end();
  }
}

const actions = async (api: Api) => (await api.get('/v1/audit_log?limit=100')).body.data.map((r: { action: string }) => r.action);

describe('audit log', () => {
  it('each security-relevant action appends exactly one record, without secrets', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => tools.close());
    const base = ['model_card.create', 'agent.create'];
    expect(await actions(api)).toEqual(base);
    const secret = canary('audit');
    await api.post('/v1/vault', { name: 'tok', value: secret });
    tools.route('/w', { body: { ok: true } });
    await httpTool(api, 'lookup', `${tools.url}/w`, { executor: { type: 'http', url: `${tools.url}/w`, headers: { Authorization: 'Bearer {{vault.tok}}' } } });
    await api.patch('/v1/agents/assistant', { tools: ['lookup'] });
    const key = (await api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body;
    llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'x' } }] }, { text: 'done' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    llm.reply({ text: 'slow', delay_ms: 5000 });
    const slow = (await api.post('/v1/runs', { agent: 'assistant', input: 'slow' })).body;
    await api.post(`/v1/runs/${slow.id}/cancel`, {});
    await waitForStatus(api, slow.id, ['canceled']);
    await api.delete(`/v1/api_keys/${key.id}`);
    await api.delete(`/v1/sessions/${run.session_id}`);
    expect(await actions(api)).toEqual([
      ...base, 'vault.create', 'tool.create', 'agent.update', 'api_key.create', 'run.create', 'vault.secret_used', 'run.create', 'run.cancel', 'api_key.revoke', 'session.delete',
    ]);
    const log = (await api.get('/v1/audit_log')).body;
    expect(JSON.stringify(log)).not.toContain(secret);
    const used = log.data.find((r: { action: string }) => r.action === 'vault.secret_used');
    expect(used).toMatchObject({ target: 'tok', actor: { name: 'worker' }, data: { run_id: run.id, tool: 'lookup', secrets: ['tok'] } });
    const created = log.data.find((r: { action: string }) => r.action === 'run.create');
    expect(created).toMatchObject({ target: run.id, actor: { roles: ['admin'] }, request_id: expect.any(String) });
    expect((await api.get('/v1/audit_log?type=run')).body.data.map((r: { action: string }) => r.action)).toEqual(['run.create', 'run.create', 'run.cancel']);
    expect((await api.get(`/v1/audit_log?target=${slow.id}`)).body.data.map((r: { action: string }) => r.action)).toEqual(['run.create', 'run.cancel']);
    expect((await api.get('/v1/audit_log/verify')).body).toEqual({ ok: true, checked: log.data.length, first_bad_seq: null });
  });

  it('definition changes, webhooks and approval decisions append one record each', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => tools.close());
    const approver = new Api((await api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key);
    await api.post('/v1/model_cards/fake', { default_model: 'other' });
    await api.post('/v1/tools', { name: 'ticket', effect: 'write', input_schema: { type: 'object', properties: { t: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/t` } });
    await api.patch('/v1/tools/ticket', { description: 'tickets' });
    await api.patch('/v1/agents/assistant', { tools: ['ticket'] });
    await api.post('/v1/vault', { name: 'v', value: 'x1' });
    await api.patch('/v1/vault/v', { value: 'x2' });
    await api.delete('/v1/vault/v');
    const hook = (await api.post('/v1/webhooks', { url: 'https://8.8.8.8/hooks', events: ['run.failed'] })).body;
    await api.post(`/v1/webhooks/${hook.id}/rotate_secret`, {});
    await api.delete(`/v1/webhooks/${hook.id}`);
    tools.route('/t', { body: { ok: true } });
    llm.reply({ tool_calls: [{ name: 'ticket', arguments: { t: 'a' } }] }, { text: 'one' }, { tool_calls: [{ name: 'ticket', arguments: { t: 'b' } }] }, { text: 'two' });
    const r1 = (await api.post('/v1/runs', { agent: 'assistant', input: 'a', wait: true })).body;
    await approver.post(`/v1/approvals/${r1.pending_approvals[0].id}/approve`, {});
    await waitForStatus(api, r1.id, ['completed']);
    const r2 = (await api.post('/v1/runs', { agent: 'assistant', input: 'b', wait: true })).body;
    await approver.post(`/v1/approvals/${r2.pending_approvals[0].id}/deny`, { reason: 'no' });
    await waitForStatus(api, r2.id, ['completed']);
    await api.delete('/v1/tools/ticket');
    await api.delete('/v1/agents/assistant');
    await api.delete('/v1/model_cards/fake');
    expect(await actions(api)).toEqual([
      'model_card.create', 'agent.create', 'api_key.create', 'model_card.update', 'tool.create', 'tool.update', 'agent.update',
      'vault.create', 'vault.update', 'vault.delete', 'webhook.create', 'webhook.rotate_secret', 'webhook.delete',
      'run.create', 'approval.approve', 'run.create', 'approval.deny', 'tool.delete', 'agent.archive', 'model_card.delete',
    ]);
    await api.post('/v1/tools', { name: 'hdr', effect: 'read', executor: { type: 'http', url: 'https://8.8.8.8/x?token=abc123', headers: { Authorization: 'Bearer literal-token-xyz' } } });
    const log = JSON.stringify((await api.get('/v1/audit_log')).body);
    expect(log).not.toContain(hook.secret);
    expect(log).not.toContain('literal-token-xyz');
    expect(log).not.toContain('abc123');
    expect(log).not.toContain('x2');
    expect((await api.get('/v1/audit_log/verify')).body.ok).toBe(true);
  });

  it('the application role cannot UPDATE, DELETE or TRUNCATE audit records', async () => {
    const api = await newWorkspace();
    await api.post('/v1/vault', { name: 'a', value: 'b' });
    const ws = (await api.get('/v1/workspaces/current')).body.id;
    await expect(sql("UPDATE audit_log SET action = 'nothing' WHERE workspace_id = $1", [ws])).rejects.toThrow(/append-only/);
    await expect(sql('DELETE FROM audit_log WHERE workspace_id = $1', [ws])).rejects.toThrow(/append-only/);
    await expect(sql('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await api.get('/v1/audit_log/verify')).body.ok).toBe(true);
  });

  describe('verify finds what a superuser changed with triggers off', () => {
    async function chain(): Promise<{ api: Api; ws: string; seqs: number[] }> {
      const api = await newWorkspace();
      for (const n of ['a', 'b', 'c', 'd']) await api.post('/v1/vault', { name: n, value: 'v' });
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      const seqs = (await api.get('/v1/audit_log')).body.data.map((r: { seq: number }) => r.seq);
      expect((await api.get('/v1/audit_log/verify')).body.ok).toBe(true);
      return { api, ws, seqs };
    }

    it('an edit', async () => {
      const { api, seqs } = await chain();
      await sql(`UPDATE audit_log SET target = 'someone-else' WHERE seq = $1`, [seqs[1]], true);
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: seqs[1] });
    });

    it('a deletion, in the middle or at the end', async () => {
      const { api, seqs } = await chain();
      await sql('DELETE FROM audit_log WHERE seq = $1', [seqs[3]], true);
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false });
      await sql('DELETE FROM audit_log WHERE seq = $1', [seqs[1]], true);
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: seqs[2] });
    });

    it('a reorder', async () => {
      const { api, seqs } = await chain();
      const [a, b] = [seqs[1]!, seqs[2]!];
      await sql('UPDATE audit_log SET seq = -1 WHERE seq = $1', [a], true);
      await sql('UPDATE audit_log SET seq = $1 WHERE seq = $2', [a, b], true);
      await sql('UPDATE audit_log SET seq = $1 WHERE seq = -1', [b], true);
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: a });
    });
  });

  describe('the chain is keyed: recomputing hashes without the master key does not help', () => {
    interface Stored { seq: string; workspace_id: string; at: Date; actor: unknown; action: string; target: string | null; request_id: string | null; data: unknown; prev_hash: string; hash: string }
    /** The unkeyed scheme as anyone can compute it: sha256(prev_hash + canonical JSON of the record). */
    const sha = (r: Stored, prev: string): string => {
      const { prev_hash: _p, hash: _h, ...rest } = r;
      return crypto.createHash('sha256').update(prev + canonicalJson({ ...rest, seq: Number(r.seq), at: r.at.toISOString() })).digest('hex');
    };
    /** An attacker with write access: edits one record, then rewrites every hash and link from there on, and the head. */
    async function rewrite(ws: string, seq: number, target: string): Promise<void> {
      await sql('UPDATE audit_log SET target = $2 WHERE seq = $1', [seq, target], true);
      const rows = (await sql<Stored>('SELECT seq, workspace_id, at, actor, action, target, request_id, data, prev_hash, hash FROM audit_log WHERE workspace_id = $1 ORDER BY seq', [ws])).rows;
      let prev = '0'.repeat(64);
      for (const r of rows) {
        if (Number(r.seq) >= seq) {
          const hash = sha(r, prev);
          await sql('UPDATE audit_log SET prev_hash = $2, hash = $3 WHERE seq = $1', [r.seq, prev, hash], true);
          r.hash = hash;
        }
        prev = r.hash;
      }
      await sql('UPDATE workspaces SET audit_head_hash = $2 WHERE id = $1', [ws, prev]);
    }
    const box = () => createSecretBox([Buffer.from(env().masterKey, 'base64')]);
    async function pool(): Promise<Db> {
      const db = createPool(env().databaseUrl, 2);
      cleanups.push(() => db.end());
      return db;
    }

    it('an edit with every later hash recomputed (what the unkeyed chain allowed) is found', async () => {
      const api = await newWorkspace();
      for (const n of ['a', 'b', 'c', 'd']) await api.post('/v1/vault', { name: n, value: 'v' });
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      const seqs = (await api.get('/v1/audit_log')).body.data.map((r: { seq: number }) => r.seq);
      await rewrite(ws, seqs[1], 'someone-else');
      expect((await api.get('/v1/audit_log')).body.data[1].target).toBe('someone-else');
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: seqs[1] });
    });

    it('rewriting keyed records as unkeyed ones is found', async () => {
      const api = await newWorkspace();
      for (const n of ['a', 'b', 'c']) await api.post('/v1/vault', { name: n, value: 'v' });
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      const seqs = (await api.get('/v1/audit_log')).body.data.map((r: { seq: number }) => r.seq);
      await sql('UPDATE audit_log SET key_id = NULL WHERE workspace_id = $1 AND seq >= $2', [ws, seqs[1]], true);
      await rewrite(ws, seqs[1], 'someone-else');
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: seqs[1] });
      // The whole chain as unkeyed records: the keyed record that closes a legacy chain is missing.
      await sql('UPDATE audit_log SET key_id = NULL WHERE workspace_id = $1', [ws], true);
      await rewrite(ws, seqs[0], 'someone-else');
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: seqs[2] + 1 });
    });

    it('verify walks the chain in pages: a chain longer than a page verifies, and a break in the second page is found', async () => {
      const api = await newWorkspace();
      for (const n of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) await api.post('/v1/vault', { name: n, value: 'v' });
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      const seqs = (await api.get('/v1/audit_log')).body.data.map((r: { seq: number }) => r.seq);
      const db = await pool();
      const queries: string[] = [];
      const counting = new Proxy(db, {
        get: (t, k) => (k === 'query' ? (text: string, values: unknown[]) => (queries.push(text), t.query(text, values)) : Reflect.get(t, k)),
      });
      expect(await verifyAudit(counting, box().audit, ws, { pageSize: 2 })).toEqual({ ok: true, checked: 7, first_bad_seq: null });
      // The bound, then pages of 2, 2, 2 and 1 record(s): never the whole chain at once.
      expect(queries.filter((q) => q.includes('LIMIT'))).toHaveLength(4);
      await sql(`UPDATE audit_log SET target = 'someone-else' WHERE seq = $1`, [seqs[3]], true);
      expect(await verifyAudit(db, box().audit, ws, { pageSize: 2 })).toEqual({ ok: false, checked: 4, first_bad_seq: seqs[3] });
      expect((await api.get('/v1/audit_log/verify')).body).toEqual({ ok: false, checked: 4, first_bad_seq: seqs[3] });
    });

    it('a chain written before the key (unkeyed records) is closed by migrate with a keyed record, which then guards it', async () => {
      const api = await newWorkspace();
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      // Records as the code before this change wrote them: key_id NULL, plain SHA-256 hashes. One transaction,
      // so that a migrate of another test file running in parallel sees the whole legacy chain or none of it.
      const db = await pool();
      await transaction(db, async (c) => {
        let prev = '0'.repeat(64);
        for (const target of ['a', 'b', 'c']) {
          const seq = Number((await c.query<{ n: string }>("SELECT nextval('audit_log_seq_seq') AS n")).rows[0]!.n);
          const r: Stored = { seq: String(seq), workspace_id: ws, at: new Date(), actor: { key_id: null, name: 'old', roles: [] }, action: 'vault.create', target, request_id: null, data: {}, prev_hash: prev, hash: '' };
          r.hash = sha(r, prev);
          await c.query('INSERT INTO audit_log (seq, workspace_id, at, actor, action, target, request_id, data, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [seq, ws, r.at, r.actor, r.action, target, null, {}, prev, r.hash]);
          await c.query('UPDATE workspaces SET audit_head_seq = $2, audit_head_hash = $3 WHERE id = $1', [ws, seq, r.hash]);
          prev = r.hash;
        }
      });
      await migrate(db, box());
      await migrate(db, box());
      const log = (await api.get('/v1/audit_log')).body.data;
      expect(log.map((r: { action: string }) => r.action)).toEqual(['vault.create', 'vault.create', 'vault.create', 'audit.chain_keyed']);
      expect(log[3].data).toEqual({ legacy_head_seq: log[2].seq, legacy_head_hash: log[2].hash });
      await api.post('/v1/vault', { name: 'after', value: 'v' });
      expect((await api.get('/v1/audit_log/verify')).body).toEqual({ ok: true, checked: 5, first_bad_seq: null });
      // Rewriting the unkeyed part, hashes recomputed, breaks the keyed record's link into it.
      await rewrite(ws, log[1].seq, 'someone-else');
      const anchor = log[3].seq;
      expect((await api.get('/v1/audit_log/verify')).body).toMatchObject({ ok: false, first_bad_seq: anchor });
    });
  });
});
