// The dashboard's cookie session as any HTTP client sees it: sign-in, the CSRF rule on state changes,
// and hostile sign-in input. (The browser flows are in test/e2e/dashboard.test.ts.)
import { describe, expect, it } from 'vitest';
import { env, expectError, newWorkspace } from '../support/api';

const base = () => env().apiUrl;

async function signIn(key: string): Promise<{ session: string; csrf: string }> {
  const login = await fetch(`${base()}/dashboard/login`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const res = await fetch(`${base()}/dashboard/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: base() },
    body: new URLSearchParams({ key, csrf }).toString(),
  });
  expect(res.status).toBe(303);
  const jar = Object.fromEntries(res.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));
  return { session: decodeURIComponent(jar.ap_session!), csrf: jar.ap_csrf! };
}

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
});
