// Issue 17 item 15: one API key holds at most AP_MAX_LONG_REQUESTS_PER_KEY long-lived requests (event
// streams, wait: true, chat completions) open on an API process; the next is 429 rate_limited with
// Retry-After, another key is unaffected, and a slot is free again once its stream closes.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stablePort } from '../../src/temporal/dev-server';
import { Api, env, expectError, setupAgent, waitFor, type AgentSetup } from '../support/api';
import { spawnAp, type ApProcess } from '../support/processes';

const CAP = 2;

describe('concurrent long-lived requests per key', () => {
  let proc: ApProcess;
  let base: string;
  let a: AgentSetup;
  beforeAll(async () => {
    const e = env();
    const port = await stablePort();
    proc = spawnAp(['api'], {
      DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: e.taskQueue, AP_MASTER_KEY: e.masterKey,
      AP_PORT: String(port), LOG_LEVEL: 'debug', AP_ALLOW_PRIVATE_NETWORK: 'true', AP_MAX_LONG_REQUESTS_PER_KEY: String(CAP),
    }, path.join(e.logDir, 'long-requests-api.log'));
    await proc.ready;
    base = `http://127.0.0.1:${port}`;
    a = await setupAgent();
  });
  afterAll(async () => {
    await a?.llm.close();
    await proc?.kill();
  });

  it('the key\'s next stream is 429 with Retry-After, another key\'s stream still opens, a closed stream frees its slot', async () => {
    const api = new Api(a.api.key, base);
    const other = new Api((await a.api.post('/v1/api_keys', { name: 'other', roles: ['developer'] })).body.key, base);
    // A run that stays running while the streams are open.
    a.llm.reply({ text: 'slow', delay_ms: 60_000 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hold' })).body;
    const aborts: AbortController[] = [];
    const open = async (key: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      const res = await fetch(`${base}/v1/runs/${run.id}/events`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, signal: abort.signal });
      return { res, abort };
    };
    try {
      const held = [];
      for (let i = 0; i < CAP; i++) {
        const s = await open(api.key);
        expect(s.res.status).toBe(200);
        expect(s.res.headers.get('content-type')).toContain('text/event-stream');
        held.push(s);
      }
      const refused = await open(api.key);
      expect(refused.res.status).toBe(429);
      const body = await refused.res.json() as { error: { type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
      expect(Number(refused.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // wait: true and chat completions count as well.
      expectError(await api.post('/v1/runs', { agent: 'assistant', input: 'x', wait: true }), 429, 'rate_limit_error', 'rate_limited');
      expectError(await api.post('/v1/chat/completions', { model: 'assistant', messages: [{ role: 'user', content: 'x' }] }), 429, 'rate_limit_error', 'rate_limited');
      // Short requests of the same key are not affected.
      expect((await api.get(`/v1/runs/${run.id}`)).status).toBe(200);

      const others = await open(other.key);
      expect(others.res.status).toBe(200);
      expect(others.res.headers.get('content-type')).toContain('text/event-stream');

      held[0]!.abort.abort();
      await waitFor(async () => {
        const s = await open(api.key);
        if (s.res.status === 200) return true;
        await s.res.body?.cancel();
        return false;
      }, 'a slot to be free again');
    } finally {
      for (const abort of aborts) abort.abort();
      await api.post(`/v1/runs/${run.id}/cancel`, {});
    }
  });
});
