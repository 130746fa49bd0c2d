// Slow uploads (issue 17, item 7): a client that trickles its upload body holds a slot of its own key,
// never a pooled PostgreSQL connection. Past AP_UPLOADS_PER_KEY uploads in flight the key gets 429;
// other tenants are served meanwhile (the API here has a pool of 2); a body slower than
// AP_UPLOAD_BODY_TIMEOUT_MS is refused and frees its slot.
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stablePort } from '../../src/temporal/dev-server';
import { Api, env, expectError, newWorkspace, waitFor } from '../support/api';
import { spawnAp, type ApProcess } from '../support/processes';

interface Trickler {
  /** The answer, once the server sends one. */
  response: Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }>;
  answered: boolean;
  stop(): void;
}

/** A raw upload whose body never completes: its start, then a byte every 100 ms. */
function trickle(api: Api, path = '/v1/files'): Trickler {
  const boundary = `trickle${crypto.randomUUID()}`;
  const url = new URL(api.base);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${api.key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  req.on('error', () => undefined); // the server may close the connection after answering
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\nContent-Type: text/plain\r\n\r\nslow`);
  const timer = setInterval(() => req.write('.'), 100);
  const t: Trickler = { answered: false, response: undefined as never, stop: () => (clearInterval(timer), req.destroy()) };
  t.response = new Promise((resolve) => {
    req.on('response', (res) => {
      t.answered = true;
      clearInterval(timer);
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || 'null'), headers: res.headers }));
    });
  });
  tricklers.push(t);
  return t;
}

function form(content = 'hello'): FormData {
  const f = new FormData();
  f.append('file', new Blob([content], { type: 'text/plain' }), 'notes.txt');
  return f;
}

let db: pg.Pool;
const procs: ApProcess[] = [];
const tricklers: Trickler[] = [];

/** An API process of its own: a pool of 2 connections, named in pg_stat_activity. */
async function api(name: string, extra: Record<string, string>): Promise<{ port: number; appName: string }> {
  const e = env();
  const port = await stablePort();
  const appName = `ap-${name}-${port}`;
  const url = new URL(e.databaseUrl);
  url.searchParams.set('application_name', appName);
  const proc = spawnAp(['api'], {
    DATABASE_URL: url.toString(), TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: e.taskQueue, AP_MASTER_KEY: e.masterKey, AP_PORT: String(port), LOG_LEVEL: 'debug',
    AP_DB_POOL_SIZE: '2', AP_UPLOADS_PER_KEY: '2', ...extra,
  }, path.join(e.logDir, `${name}.log`));
  procs.push(proc);
  await proc.ready;
  return { port, appName };
}

/** Connections of that API inside an open transaction (what a held upload used to look like). */
const inTransaction = async (appName: string): Promise<number> =>
  Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`, [appName])).rows[0]!.n);

beforeAll(() => {
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
});
afterAll(async () => {
  for (const t of tricklers) t.stop();
  await Promise.all(procs.map((p) => p.kill()));
  await db?.end();
});

describe('slow uploads', () => {
  it('past its cap a key trickling uploads gets 429, while other tenants are served and no connection is held', async () => {
    const { port, appName } = await api('slow-uploads-cap', { AP_UPLOAD_BODY_TIMEOUT_MS: '600000' });
    const base = `http://127.0.0.1:${port}`;
    const slow = new Api((await newWorkspace('trickler')).key, base);
    const other = new Api((await newWorkspace('bystander')).key, base);

    // Once both trickling uploads are in, the key's next upload is refused, its body unread. A probe
    // waits one poll after a trickler starts (so that it is not the probe that takes the slot), and a
    // trickler that arrived while a probe held a slot was refused itself: it is replaced.
    const live = [trickle(slow), trickle(slow)];
    let started = true;
    const refused = await waitFor(async () => {
      for (let i = 0; i < live.length; i++) if (live[i]!.answered) (live[i] = trickle(slow)), (started = true);
      if (started) return (started = false);
      const res = await slow.post('/v1/files', form());
      return res.status === 429 ? res : undefined;
    }, 'the third upload of the key to be 429');
    expectError(refused, 429, 'rate_limit_error', 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(live.map((t) => t.answered)).toEqual([false, false]);
    const skill = new FormData();
    skill.append('id', 'slow-skill');
    expectError(await slow.post('/v1/skills', skill), 429, 'rate_limit_error', 'rate_limited');

    // The pool of 2 is free for everyone else: another workspace lists, uploads and reads.
    expect((await other.get('/v1/files')).status).toBe(200);
    const stored = await other.post('/v1/files', form('bystander'));
    expect(stored.status).toBe(201);
    expect((await other.get(`/v1/files/${stored.body.id}`)).status).toBe(200);
    // The trickling key itself can still do everything but upload.
    expect((await slow.get('/v1/files')).status).toBe(200);
    expect(await inTransaction(appName)).toBe(0);
    expect(live.map((t) => t.answered)).toEqual([false, false]);
  });

  it('a body slower than the deadline is refused, holds no connection and frees its slot', async () => {
    const { port, appName } = await api('slow-uploads-deadline', { AP_UPLOAD_BODY_TIMEOUT_MS: '1000' });
    const slow = new Api((await newWorkspace('late')).key, `http://127.0.0.1:${port}`);

    const late = [trickle(slow), trickle(slow, '/v1/skills')];
    for (const t of late) {
      const res = await t.response;
      expect({ status: res.status, code: res.body?.error?.code, type: res.body?.error?.type }).toEqual({ status: 400, code: 'request_timeout', type: 'invalid_request_error' });
    }
    expect(await inTransaction(appName)).toBe(0);
    // Both slots are free again.
    expect((await slow.post('/v1/files', form())).status).toBe(201);
    expect((await slow.post('/v1/files', form())).status).toBe(201);
  });
});
