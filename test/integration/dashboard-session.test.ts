// The dashboard's cookie session as any HTTP client sees it: sign-in, the CSRF rule on state changes,
// hostile sign-in input, an opaque server-side session that sign-out and key revocation end, and Secure
// cookies with HSTS behind a TLS proxy. (The browser flows are in test/e2e/dashboard.test.ts.)
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { env, expectError, newWorkspace } from '../support/api';
import { spawnAp } from '../support/processes';
import { stablePort } from '../../src/temporal/dev-server';

const base = () => env().apiUrl;

async function signIn(key: string, root = base(), headers: Record<string, string> = {}): Promise<{ session: string; csrf: string; setCookies: string[]; hsts: string | null }> {
  const login = await fetch(`${root}/dashboard/login`, { headers });
  const csrf = /name="csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const res = await fetch(`${root}/dashboard/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded', origin: root },
    body: new URLSearchParams({ key, csrf }).toString(),
  });
  expect(res.status).toBe(303);
  const jar = Object.fromEntries(res.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));
  return { session: decodeURIComponent(jar.ap_session!), csrf: jar.ap_csrf!, setCookies: res.headers.getSetCookie(), hsts: res.headers.get('strict-transport-security') };
}

const withSession = (session: string, csrf?: string) => ({ cookie: `ap_session=${encodeURIComponent(session)}${csrf ? `; ap_csrf=${csrf}` : ''}` });
const readWith = (session: string) => fetch(`${base()}/v1/workspaces/current`, { headers: withSession(session) });
const pageWith = (session: string) => fetch(`${base()}/dashboard/runs`, { redirect: 'manual', headers: withSession(session) });

describe('dashboard session', () => {
  it('a cookie session reads freely but changes state only with its CSRF token from this origin', async () => {
    const api = await newWorkspace();
    const { session, csrf } = await signIn(api.key);
    const cookie = `ap_session=${encodeURIComponent(session)}; ap_csrf=${csrf}`;
    const read = await fetch(`${base()}/v1/workspaces/current`, { headers: { cookie } });
    expect(read.status).toBe(200);

    const create = (headers: Record<string, string>) =>
      fetch(`${base()}/v1/api_keys`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'via-cookie', roles: ['auditor'] }) });
    for (const headers of [{} as Record<string, string>, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': csrf, origin: 'http://evil.example' }, { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }, { 'x-csrf-token': csrf, origin: 'null' }]) {
      const res = await create(headers);
      const body = await res.json();
      expectError({ status: res.status, body, headers: res.headers }, 403, 'permission_error', 'csrf_failed');
    }
    expect((await api.get('/v1/api_keys')).body.data.map((k: { name: string }) => k.name)).not.toContain('via-cookie');
    expect((await create({ 'x-csrf-token': csrf, origin: base() })).status).toBe(201);
    // A header key wins over the cookie and needs no CSRF token (API clients are not browsers).
    expect((await create({ authorization: `Bearer ${api.key}` })).status).toBe(201);
  });

  it('hostile sign-in input: a wrong token, a wrong key, an oversize or malformed form change nothing and never 500', async () => {
    const api = await newWorkspace();
    const post = (body: string, cookie = '') =>
      fetch(`${base()}/dashboard/login`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const noToken = await post(new URLSearchParams({ key: api.key, csrf: 'x' }).toString(), 'ap_csrf=y');
    expect(noToken.status).toBe(403);
    expect(noToken.headers.getSetCookie().some((c) => c.startsWith('ap_session=') && !c.startsWith('ap_session=;'))).toBe(false);
    const token = 'A'.repeat(32);
    expect((await post(new URLSearchParams({ key: 'ap_wrong', csrf: token }).toString(), `ap_csrf=${token}`)).status).toBe(401);
    expect((await post(`key=${'a'.repeat(10_000)}&csrf=${token}`, `ap_csrf=${token}`)).status).toBe(413);
    expect((await post('key=%E0%A4%A&csrf=%ZZ', `ap_csrf=${token}`)).status).toBeLessThan(500);
    expect((await post(`key[a]=1&csrf=${token}`, `ap_csrf=%E0%A4%A`)).status).toBeLessThan(500);
    // A malformed cookie on an API call is as good as none.
    const res = await fetch(`${base()}/v1/runs`, { headers: { cookie: 'ap_session=%E0%A4%A' } });
    expect(res.status).toBe(401);
  });

  it('pages need a session; a page for a malformed run id is 404; the pages forbid framing and foreign scripts', async () => {
    const res = await fetch(`${base()}/dashboard/approvals`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/login');
    const api = await newWorkspace();
    const { session } = await signIn(api.key);
    const page = await fetch(`${base()}/dashboard/runs/run_x<script>`, { headers: { cookie: `ap_session=${encodeURIComponent(session)}` } });
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain('<script>');
    const ok = await fetch(`${base()}/dashboard/runs`, { headers: { cookie: `ap_session=${encodeURIComponent(session)}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('the cookie is an opaque session id, never the key; a copy of it is refused after sign-out', async () => {
    const api = await newWorkspace();
    const { session, csrf, setCookies } = await signIn(api.key);
    expect(session).not.toContain(api.key);
    expect(setCookies.join('\n')).not.toContain(api.key);
    expect(setCookies.join('\n')).not.toContain(encodeURIComponent(api.key));
    // The key itself is no cookie session either: only a signed-in session id is.
    expect((await readWith(api.key)).status).toBe(401);
    const copy = session; // what a thief (a shared machine, a stolen backup of the browser profile) kept
    expect((await readWith(copy)).status).toBe(200);
    expect((await pageWith(copy)).status).toBe(200);

    const out = await fetch(`${base()}/dashboard/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...withSession(session, csrf), 'content-type': 'application/x-www-form-urlencoded', origin: base() },
      body: new URLSearchParams({ csrf }).toString(),
    });
    expect(out.status).toBe(303);
    const refused = await readWith(copy);
    expectError({ status: refused.status, body: await refused.json(), headers: refused.headers }, 401, 'authentication_error', 'invalid_api_key');
    const page = await pageWith(copy);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/dashboard/login');
    // The key still works for API clients: sign-out ends the session, not the key.
    expect((await api.get('/v1/workspaces/current')).status).toBe(200);
  });

  it("sessions that ended over a day ago are dropped at the key's next sign-in; live ones stay", async () => {
    const api = await newWorkspace();
    const old = await signIn(api.key);
    const live = await signIn(api.key);
    const sql = new pg.Client({ connectionString: env().databaseUrl });
    await sql.connect();
    try {
      const wsId = (await api.get('/v1/workspaces/current')).body.id as string;
      const rows = async () => (await sql.query<{ n: string }>('SELECT count(*) AS n FROM dashboard_sessions WHERE workspace_id = $1', [wsId])).rows[0]!.n;
      expect(await rows()).toBe('2');
      // One of them expired two days ago (as if signed in then).
      await sql.query(
        `UPDATE dashboard_sessions SET expires_at = now() - interval '2 days' WHERE id_hash = (SELECT id_hash FROM dashboard_sessions WHERE workspace_id = $1 ORDER BY created_at LIMIT 1)`,
        [wsId],
      );
      await signIn(api.key);
      expect(await rows()).toBe('2');
      expect((await readWith(old.session)).status).toBe(401);
      expect((await readWith(live.session)).status).toBe(200);
    } finally {
      await sql.end();
    }
  });

  it("revoking an API key ends its dashboard sessions; another key's session goes on", async () => {
    const admin = await newWorkspace();
    const created = await admin.post('/v1/api_keys', { name: 'reader', roles: ['auditor'] });
    expect(created.status).toBe(201);
    const reader = await signIn(created.body.key);
    const other = await signIn(admin.key);
    expect((await readWith(reader.session)).status).toBe(200);
    expect((await admin.delete(`/v1/api_keys/${created.body.id}`)).status).toBe(200);
    expect((await readWith(reader.session)).status).toBe(401);
    expect((await pageWith(reader.session)).status).toBe(303);
    expect((await readWith(other.session)).status).toBe(200);
  });

  it('a forwarded https is believed only with AP_TRUST_PROXY: then the cookies are Secure and HSTS is sent', async () => {
    const api = await newWorkspace();
    const https = { 'x-forwarded-proto': 'https' };
    // The shared API trusts no proxy: anyone can send the header, so it changes nothing.
    const untrusted = await signIn(api.key, base(), https);
    expect(untrusted.setCookies.some((c) => /;\s*Secure/i.test(c))).toBe(false);
    expect(untrusted.hsts).toBeNull();

    const e = env();
    const port = await stablePort();
    const proxied = spawnAp(['api'], { DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: e.taskQueue, AP_MASTER_KEY: e.masterKey, AP_PORT: String(port), AP_TRUST_PROXY: 'loopback', LOG_LEVEL: 'debug' }, path.join(e.logDir, 'dashboard-trust-proxy.log'));
    try {
      await proxied.ready;
      const root = `http://127.0.0.1:${port}`;
      const behindTls = await signIn(api.key, root, https);
      const session = behindTls.setCookies.find((c) => c.startsWith('ap_session='))!;
      expect(session).toMatch(/;\s*Secure/i);
      expect(session).toMatch(/;\s*HttpOnly/i);
      expect(behindTls.setCookies.every((c) => /;\s*Secure/i.test(c))).toBe(true);
      expect(behindTls.hsts).toMatch(/max-age=\d{7,}/);
      const page = await fetch(`${root}/dashboard/runs`, { headers: { ...https, ...withSession(behindTls.session) } });
      expect(page.status).toBe(200);
      expect(page.headers.get('strict-transport-security')).toMatch(/max-age=/);
      // Plain http through the same proxy-trusting server: no Secure flag (the browser would drop it), no HSTS.
      const plain = await signIn(api.key, root);
      expect(plain.setCookies.some((c) => /;\s*Secure/i.test(c))).toBe(false);
      expect(plain.hsts).toBeNull();
    } finally {
      await proxied.kill();
    }
  });
});
