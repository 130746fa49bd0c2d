// Overload (issue 8, item 12, first part): a burst far beyond what an API process can serve gets 429
// `rate_limited` with Retry-After, never a 5xx; every accepted run completes; the process recovers.
// Its own `ap api` + `ap worker` pair with a 2-connection pool, so that the burst overloads only them.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApProcess } from '../support/processes';
import { startPair } from '../support/pair';
import { Api, setupAgent } from '../support/api';

const procs: ApProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGTERM');
});

describe('overload', () => {
  it('a burst of 200 creates on a 2-connection API: 202 or 429 with Retry-After, no 5xx; accepted runs complete; it recovers', async () => {
    const { port, api, worker } = await startPair('overload', { both: { AP_DB_POOL_SIZE: '2', AP_MAX_ACTIVE_RUNS: '1000', LOG_LEVEL: 'info' } });
    procs.push(api, worker);
    const s = await setupAgent();
    try {
      const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
      const results = await Promise.all(Array.from({ length: 200 }, () => client.post('/v1/runs', { agent: 'assistant', input: 'hi' })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((st) => st !== 202 && st !== 429)).toEqual([]);
      const shed = results.filter((r) => r.status === 429);
      expect(shed.length).toBeGreaterThan(0);
      for (const r of shed) {
        expect(r.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      const accepted = results.filter((r) => r.status === 202).map((r) => r.body.id as string);
      expect(accepted.length).toBeGreaterThan(0);
      // Every acknowledged run is carried through (the scripted model answers each with text).
      const completed = async (): Promise<Set<string>> => {
        const done = new Set<string>();
        for (let after = ''; ; ) {
          const page = (await s.api.get(`/v1/runs?status=completed&limit=100${after ? `&after=${after}` : ''}`)).body;
          for (const r of page.data as { id: string }[]) done.add(r.id);
          if (!page.has_more) return done;
          after = page.next_cursor;
        }
      };
      const deadline = Date.now() + 120_000;
      let missing = accepted;
      while (missing.length > 0 && Date.now() < deadline) {
        const done = await completed();
        missing = accepted.filter((id) => !done.has(id));
        if (missing.length) await new Promise((r) => setTimeout(r, 1000)); // a poll interval, within the key's rate limit
      }
      expect(missing).toEqual([]);
      // Recovered: once the burst is over the same process accepts again.
      expect((await client.post('/v1/runs', { agent: 'assistant', input: 'after' })).status).toBe(202);
      expect(api.child.exitCode).toBeNull();
    } finally {
      await s.llm.close();
    }
  }, 180_000);
});
