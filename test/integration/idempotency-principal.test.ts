// Issue 17 item 1: a stored idempotent response belongs to the API key that made it. Another key of the
// workspace repeating the request and its Idempotency-Key never receives the stored body (secrets shown
// once: API keys, webhook secrets, a new workspace's admin key): a lower role is 403 by the route's role
// check, which runs before any replay, and a key of the same role is 422 idempotency_key_reused.
import { describe, expect, it } from 'vitest';
import { adminApi, Api, expectError, newWorkspace, type Res } from '../support/api';

const key = (name: string) => ({ 'Idempotency-Key': `${name}-${Math.random().toString(36).slice(2)}` });

/** Neither the status nor any byte of the body gives the first response away. */
function refused(res: Res, secret: string, status: 403 | 422): void {
  if (status === 403) expectError(res, 403, 'permission_error', 'permission_denied');
  else expectError(res, 422, 'invalid_request_error', 'idempotency_key_reused');
  expect(res.headers.get('idempotent-replayed')).toBeNull();
  expect(JSON.stringify(res.body)).not.toContain(secret);
}

async function keysOf(admin: Api): Promise<{ auditor: Api; admin2: Api }> {
  const auditor = new Api((await admin.post('/v1/api_keys', { name: 'auditor', roles: ['auditor'] })).body.key);
  const admin2 = new Api((await admin.post('/v1/api_keys', { name: 'second admin', roles: ['admin'] })).body.key);
  return { auditor, admin2 };
}

describe('idempotent replays are bound to the calling key', () => {
  it('API key create: an auditor or another admin repeating the request never gets the new admin key', async () => {
    const admin = await newWorkspace('idem-keys');
    const { auditor, admin2 } = await keysOf(admin);
    const h = key('make-admin');
    const body = { name: 'root', roles: ['admin'] };
    const first = await admin.post('/v1/api_keys', body, h);
    expect(first.status).toBe(201);
    refused(await auditor.post('/v1/api_keys', body, h), first.body.key, 403);
    refused(await admin2.post('/v1/api_keys', body, h), first.body.key, 422);
    // The key that made it still replays it.
    const again = await admin.post('/v1/api_keys', body, h);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.key).toBe(first.body.key);
  });

  it('webhook create and rotate_secret: the secret is replayed only to the key that made it', async () => {
    const admin = await newWorkspace('idem-hooks');
    const { auditor, admin2 } = await keysOf(admin);
    const h = key('hook');
    const body = { url: 'https://8.8.8.8/hooks', events: ['run.failed'] };
    const hook = await admin.post('/v1/webhooks', body, h);
    expect(hook.status).toBe(201);
    expect(typeof hook.body.secret).toBe('string');
    refused(await auditor.post('/v1/webhooks', body, h), hook.body.secret, 403);
    refused(await admin2.post('/v1/webhooks', body, h), hook.body.secret, 422);

    const r = key('rotate');
    const rotated = await admin.post(`/v1/webhooks/${hook.body.id}/rotate_secret`, {}, r);
    expect(rotated.status).toBe(200);
    expect(typeof rotated.body.secret).toBe('string');
    refused(await auditor.post(`/v1/webhooks/${hook.body.id}/rotate_secret`, {}, r), rotated.body.secret, 403);
    refused(await admin2.post(`/v1/webhooks/${hook.body.id}/rotate_secret`, {}, r), rotated.body.secret, 422);
    expect((await admin.post(`/v1/webhooks/${hook.body.id}/rotate_secret`, {}, r)).body.secret).toBe(rotated.body.secret);
  });

  it('POST /v1/workspaces: another key of the operator never gets the new admin key', async () => {
    const operator = adminApi();
    const { auditor, admin2 } = await keysOf(operator);
    const h = key('workspace');
    const first = await operator.post('/v1/workspaces', { name: 'idem-tenant' }, h);
    expect(first.status).toBe(201);
    refused(await auditor.post('/v1/workspaces', { name: 'idem-tenant' }, h), first.body.admin_key, 403);
    refused(await admin2.post('/v1/workspaces', { name: 'idem-tenant' }, h), first.body.admin_key, 422);
    expect((await operator.post('/v1/workspaces', { name: 'idem-tenant' }, h)).body.admin_key).toBe(first.body.admin_key);
  });
});
