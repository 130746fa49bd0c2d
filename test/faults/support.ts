// What the fault tests share: a Temporal dev server of their own (so that killing it harms no other
// test), a workspace whose agent calls a write tool behind an approval for every run, and a tool server
// that applies one effect per Idempotency-Key and counts every request.
import crypto from 'node:crypto';
import path from 'node:path';
import { expect } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { allEvents, Api, env, type Res } from '../support/api';
import { canary } from '../support/canaries';
import { findTemporalServer, startPostgresTemporal, type MtlsFiles, type PostgresTemporal } from '../support/temporal-postgres';

export { ownTemporal, type OwnTemporal } from '../support/own-temporal';

export { startEffectServer, type EffectServer } from '../fixtures/tool-server';

export interface PayingAgent {
  admin: Api;
  approverKey: string;
  llm: FakeLlm;
}

/**
 * A workspace (through `api`) whose agent `payer` answers "pay <ref>" by calling the idempotent write
 * tool `pay` with that ref (parked on an approval under the default policy), then says "Paid <ref>.".
 */
export async function payingAgent(api: Api, toolsUrl: string): Promise<PayingAgent> {
  const ws = await api.post('/v1/workspaces', { name: 'faults' });
  expect(ws.status).toBe(201);
  const admin = new Api(ws.body.admin_key, api.base);
  const llm = await startFakeLlm('openai');
  llm.respond((body) => {
    const messages = body.messages as { role: string; content?: unknown }[];
    const last = messages[messages.length - 1]!;
    // The newest ref: in a session, earlier turns' refs come first.
    const ref = JSON.stringify(messages).match(/ref-[\w-]+/g)?.at(-1) ?? 'ref-none';
    return last.role === 'tool' ? { text: `Paid ${ref}.` } : { tool_calls: [{ name: 'pay', arguments: { ref } }] };
  });
  const created = [
    await admin.post('/v1/model_cards', { id: 'fake', provider: 'openai', base_url: llm.baseUrl, api_key: canary('modelkey'), default_model: 'fake-model' }),
    await admin.post('/v1/tools', {
      name: 'pay',
      effect: 'write',
      idempotent: true,
      input_schema: { type: 'object', properties: { ref: { type: 'string' } }, required: ['ref'] },
      executor: { type: 'http', url: `${toolsUrl}/pay` },
    }),
    await admin.post('/v1/agents', { name: 'payer', model: { card: 'fake' }, instructions: 'Pay what you are asked to.', tools: ['pay'] }),
  ];
  for (const r of created) expect(r.status, JSON.stringify(r.body)).toBe(201);
  const approver = await admin.post('/v1/api_keys', { name: 'approver', roles: ['approver'] });
  expect(approver.status).toBe(201);
  return { admin, approverKey: approver.body.key, llm };
}

/** A request that may meet a dead process: a refused connection is reported as status 0. */
export async function tolerant(fn: () => Promise<Res>): Promise<Res> {
  try {
    return await fn();
  } catch (err) {
    return { status: 0, body: { error: String(err) }, headers: new Headers() };
  }
}

/** Seqs of every run's stored events: each must be exactly 1..N. Returns the runs that are not. */
export async function gaps(api: Api, runIds: string[]): Promise<string[]> {
  const bad: string[] = [];
  for (const id of runIds) {
    const seqs = (await allEvents(api, id)).map((e) => e.seq as number);
    if (seqs.some((s, i) => s !== i + 1)) bad.push(`${id}: ${seqs.join(',')}`);
  }
  return bad;
}

/** A Temporal server on PostgreSQL of the test's own (databases of their own on the test's server). */
export async function ownPostgresTemporal(name: string, tls?: MtlsFiles): Promise<PostgresTemporal> {
  const e = env();
  const say = (line: string) => process.stdout.write(`[${name}] ${line}\n`);
  return startPostgresTemporal({
    binaries: await findTemporalServer(say),
    serverUrl: e.databaseUrl,
    namespace: 'default',
    logFile: path.join(e.logDir, `${name}-temporal-server.log`),
    runId: `${name.replace(/\W/g, '_')}_${crypto.randomBytes(4).toString('hex')}`,
    say,
    ...(tls ? { tls } : {}),
  });
}

/** Every run of the workspace, through all pages of the list. */
export async function allRuns(api: Api): Promise<{ id: string }[]> {
  const listed: { id: string }[] = [];
  for (let after = ''; ; ) {
    const page = await api.get(`/v1/runs?limit=100${after ? `&after=${after}` : ''}`);
    expect(page.status).toBe(200);
    listed.push(...page.body.data);
    if (!page.body.has_more) return listed;
    after = page.body.next_cursor;
  }
}
