// Encryption at rest binds each ciphertext to its cell (workspace:table:column:row): a ciphertext copied
// with SQL into another workspace's or row's cell is refused there, and v1 rows are re-encrypted by migrate.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createSecretBox, keyId } from '../../src/security/secrets';
import { startToolServer } from '../fixtures/tool-server';
import { allEvents, Api, env, httpTool, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<T>> {
  const c = new pg.Client({ connectionString: env().databaseUrl });
  await c.connect();
  try {
    return await c.query<T>(text, values);
  } finally {
    await c.end();
  }
}

const workspaceOf = async (api: Api): Promise<string> => (await api.get('/v1/workspaces/current')).body.id;

/** What the code before context binding wrote: AES-256-GCM without additional data, `v1:` format. */
function v1Encrypt(masterKey: Buffer, plaintext: string): string {
  const key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), 'agent-platform:secrets:v1', 32));
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', keyId(masterKey), iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
}

describe('encryption at rest is bound to its row', () => {
  it("another workspace's model-card key copied into a card row is refused there; the original still works", async () => {
    const a = await setupAgent();
    const b = await setupAgent();
    cleanups.push(() => a.llm.close(), () => b.llm.close());
    const [wsA, wsB] = [await workspaceOf(a.api), await workspaceOf(b.api)];
    // Both cards are called `fake`: only the workspace in the context tells them apart.
    await sql(`UPDATE model_cards SET api_key_enc = (SELECT api_key_enc FROM model_cards WHERE workspace_id = $1 AND id = 'fake') WHERE workspace_id = $2 AND id = 'fake'`, [wsA, wsB]);

    b.llm.reply({ text: 'must not be reached' });
    const stolen = (await b.api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    const failed = await waitForStatus(b.api, stolen.id, ['failed', 'completed']);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(failed.error.message).toMatch(/Model card fake: .*does not belong to this row/);
    expect(JSON.stringify(failed)).not.toContain(a.apiKeyCanary);
    expect(JSON.stringify((await b.api.get(`/v1/runs/${stolen.id}/events`)).body)).not.toContain(a.apiKeyCanary);
    expect(b.llm.requests).toEqual([]);

    a.llm.reply({ text: 'still mine' });
    const own = (await a.api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    expect((await waitForStatus(a.api, own.id, ['completed'])).output_text).toBe('still mine');
    expect(a.llm.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${a.apiKeyCanary}`]);
  });

  it('a vault value copied into another row of the same workspace is refused, and the tool is not called with it', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => tools.close());
    const ws = await workspaceOf(api);
    await api.post('/v1/vault', { name: 'admin_token', value: 'ADMIN-ONLY-VALUE' });
    await api.post('/v1/vault', { name: 'public_token', value: 'harmless' });
    tools.route('/w', { body: { ok: true } });
    await httpTool(api, 'lookup', `${tools.url}/w`, { executor: { type: 'http', url: `${tools.url}/w`, headers: { Authorization: 'Bearer {{vault.public_token}}' } } });
    await api.patch('/v1/agents/assistant', { tools: ['lookup'] });
    await sql(
      `UPDATE vault_secrets SET value_enc = (SELECT value_enc FROM vault_secrets WHERE workspace_id = $1 AND name = 'admin_token') WHERE workspace_id = $1 AND name = 'public_token'`,
      [ws],
    );
    llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'x' } }] }, { text: 'done' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    const done = await waitForStatus(api, run.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    const events = await allEvents(api, run.id);
    const failed = events.find((e) => e.type === 'tool_call.failed')!;
    expect(failed.data.error).toMatchObject({ code: 'vault_secret_unreadable', message: expect.stringMatching(/public_token: .*does not belong to this row/) });
    expect(JSON.stringify([done, events])).not.toContain('ADMIN-ONLY-VALUE');
    expect(tools.requests.map((r) => r.headers.authorization)).not.toContain('Bearer ADMIN-ONLY-VALUE');
  });

  it('migrate re-encrypts v1 rows bound to their rows; they work afterwards, and running it again changes nothing', async () => {
    const masterKey = Buffer.from(env().masterKey, 'base64');
    const { api, llm, apiKeyCanary } = await setupAgent();
    cleanups.push(() => llm.close());
    const ws = await workspaceOf(api);
    const hook = (await api.post('/v1/webhooks', { url: 'https://8.8.8.8/hooks', events: ['run.failed'] })).body;
    await api.post('/v1/vault', { name: 'tok', value: 'x' });
    const idem = { url: 'https://8.8.8.8/other', events: ['run.failed'] };
    const first = await api.post('/v1/webhooks', idem, { 'Idempotency-Key': 'mig-1' });
    // Rows as the code before this change wrote them.
    await sql(`UPDATE model_cards SET api_key_enc = $3, headers_enc = $4 WHERE workspace_id = $1 AND id = $2`, [ws, 'fake', v1Encrypt(masterKey, apiKeyCanary), v1Encrypt(masterKey, '{"X-Old":"h"}')]);
    await sql(`UPDATE webhook_endpoints SET secret_enc = $2 WHERE id = $1`, [hook.id, v1Encrypt(masterKey, hook.secret)]);
    await sql(`UPDATE vault_secrets SET value_enc = $2 WHERE workspace_id = $1 AND name = 'tok'`, [ws, v1Encrypt(masterKey, 'old-vault')]);
    // A v1 row under a key no longer configured: it cannot be migrated, and must not stop the migration.
    await api.post('/v1/vault', { name: 'lost', value: 'x' });
    const lost = v1Encrypt(crypto.randomBytes(32), 'under-a-lost-key');
    await sql(`UPDATE vault_secrets SET value_enc = $2 WHERE workspace_id = $1 AND name = 'lost'`, [ws, lost]);
    await sql(`UPDATE idempotency_keys SET response_body = $3 WHERE workspace_id = $1 AND key = $2`, [ws, 'mig-1', JSON.stringify({ enc: v1Encrypt(masterKey, JSON.stringify(first.body)) })]);

    // (Until migrated, decrypt refuses them: test/unit/security.test.ts. Not asserted here: another test file's
    // migrate, running in parallel, may migrate these rows first.)
    const db = createPool(env().databaseUrl, 2);
    cleanups.push(() => db.end());
    const box = createSecretBox([masterKey]);
    await migrate(db, box);
    const stored = (await sql<{ api_key_enc: string; headers_enc: string }>('SELECT api_key_enc, headers_enc FROM model_cards WHERE workspace_id = $1', [ws])).rows[0]!;
    const secret = (await sql<{ secret_enc: string }>('SELECT secret_enc FROM webhook_endpoints WHERE id = $1', [hook.id])).rows[0]!.secret_enc;
    const vault = (await sql<{ value_enc: string }>(`SELECT value_enc FROM vault_secrets WHERE workspace_id = $1 AND name = 'tok'`, [ws])).rows[0]!.value_enc;
    expect((await sql<{ value_enc: string }>(`SELECT value_enc FROM vault_secrets WHERE workspace_id = $1 AND name = 'lost'`, [ws])).rows[0]!.value_enc).toBe(lost);
    const response = (await sql<{ enc: string }>(`SELECT response_body->>'enc' AS enc FROM idempotency_keys WHERE workspace_id = $1 AND key = 'mig-1'`, [ws])).rows[0]!.enc;
    for (const enc of [stored.api_key_enc, stored.headers_enc, secret, vault, response]) expect(enc.startsWith('v2:')).toBe(true);
    expect(box.decrypt(stored.api_key_enc, { workspace: ws, table: 'model_cards', column: 'api_key', row: 'fake' })).toBe(apiKeyCanary);
    expect(box.decrypt(secret, { workspace: ws, table: 'webhook_endpoints', column: 'secret', row: hook.id })).toBe(hook.secret);
    expect(box.decrypt(vault, { workspace: ws, table: 'vault_secrets', column: 'value', row: 'tok' })).toBe('old-vault');

    llm.reply({ text: 'migrated' });
    const after = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    expect((await waitForStatus(api, after.id, ['completed'])).output_text).toBe('migrated');
    expect(llm.requests.at(-1)!.headers).toMatchObject({ authorization: `Bearer ${apiKeyCanary}`, 'x-old': 'h' });
    expect((await api.get('/v1/model_cards/fake')).body.headers).toEqual({ 'X-Old': '[hidden]' });
    const replay = await api.post('/v1/webhooks', idem, { 'Idempotency-Key': 'mig-1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    await migrate(db, box);
    expect((await sql<{ api_key_enc: string }>('SELECT api_key_enc FROM model_cards WHERE workspace_id = $1', [ws])).rows[0]!.api_key_enc).toBe(stored.api_key_enc);
  });
});
