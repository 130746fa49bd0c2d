// Secret canaries: every model-card key and vault value in the tests starts with CANARY_PREFIX, so one
// scan of logs, stored events, transcripts and Temporal histories proves none of them leaked.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { TestEnv } from './global-setup';
import { decodeAllPayloads, EncryptionCodec } from '../../src/temporal/codec';

export const CANARY_PREFIX = 'CANARY-SECRET-';

export const canary = (label: string): string => `${CANARY_PREFIX}${label}-${Math.random().toString(36).slice(2, 10)}`;

function decodeBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(decodeBytes);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, decodeBytes(v)]));
  }
  return value;
}

/**
 * Searches Temporal histories of the given workflows, or of all. `decrypt`: with the platform's codec
 * (what the workflow saw); without it: what the Temporal server stores.
 */
export async function historiesContaining(env: TestEnv, needle: string, workflowIds?: string[], decrypt = true): Promise<string[]> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const client = new Client({ connection, namespace: env.namespace });
    const ids: string[] = workflowIds ?? [];
    if (!workflowIds) for await (const wf of client.workflow.list()) ids.push(wf.workflowId);
    const hits: string[] = [];
    for (const id of ids) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      // Runs recorded under another key (the rotation test) stay encrypted: searched as stored.
      if (decrypt) await decodeAllPayloads(history, new EncryptionCodec([Buffer.from(env.masterKey, 'base64')])).catch(() => undefined);
      if (JSON.stringify(decodeBytes(history)).includes(needle)) hits.push(`history of ${id}`);
    }
    return hits;
  } finally {
    await connection.close();
  }
}

export async function scanForCanaries(env: TestEnv): Promise<string[]> {
  const leaks: string[] = [];
  for (const f of fs.readdirSync(env.logDir)) {
    const text = fs.readFileSync(path.join(env.logDir, f), 'utf8');
    if (text.includes(CANARY_PREFIX)) leaks.push(`log ${f}`);
  }
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    const checks: [string, string][] = [
      ['run events', 'SELECT count(*)::int AS n FROM run_events WHERE data::text LIKE $1'],
      ['runs', 'SELECT count(*)::int AS n FROM runs WHERE (output::text || input::text || coalesce(error::text, \'\')) LIKE $1'],
      ['session messages', 'SELECT count(*)::int AS n FROM session_messages WHERE message::text LIKE $1'],
      ['model cards (plaintext)', 'SELECT count(*)::int AS n FROM model_cards WHERE (api_key_enc || coalesce(headers_enc, \'\')) LIKE $1'],
      ['vault (plaintext)', 'SELECT count(*)::int AS n FROM vault_secrets WHERE value_enc LIKE $1'],
    ];
    for (const [what, sql] of checks) {
      const r = await db.query<{ n: number }>(sql, [`%${CANARY_PREFIX}%`]);
      if (r.rows[0]!.n > 0) leaks.push(`${what} (${r.rows[0]!.n} rows)`);
    }
  } finally {
    await db.end();
  }
  leaks.push(...(await historiesContaining(env, CANARY_PREFIX)));
  return leaks;
}
