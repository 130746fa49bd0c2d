// Encryption at rest, key hashing and the private-network guard.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, hashApiKey, keyId, newApiKey, preview, SecretError } from '../../src/security/secrets';
import { assertPublicUrl, isPrivateAddress } from '../../src/security/network-guard';

describe('secret box', () => {
  const k1 = crypto.randomBytes(32);
  const k2 = crypto.randomBytes(32);

  const at = { workspace: 'ws_a', table: 'vault_secrets', column: 'value', row: 'tok' };

  it('round-trips, never stores plaintext, and uses a fresh IV each time', () => {
    const box = createSecretBox([k1]);
    const a = box.encrypt('sk-live-secret', at);
    const b = box.encrypt('sk-live-secret', at);
    expect(a).not.toContain('sk-live');
    expect(a).not.toBe(b);
    expect(a.startsWith('v2:')).toBe(true);
    expect(box.decrypt(a, at)).toBe('sk-live-secret');
  });

  it('rejects tampering and unknown keys; decrypts with an older key kept for rotation', () => {
    const old = createSecretBox([k1]);
    const c = old.encrypt('value', at);
    const parts = c.split(':');
    parts[4] = Buffer.from('tampered').toString('base64');
    expect(() => old.decrypt(parts.join(':'), at)).toThrow();
    expect(() => createSecretBox([k2]).decrypt(c, at)).toThrow(/key id/);
    expect(createSecretBox([k2, k1]).decrypt(c, at)).toBe('value');
  });

  it('a ciphertext decrypts only in the cell it was written for; v1 only in the migrator', () => {
    const box = createSecretBox([k1]);
    const c = box.encrypt('value', at);
    for (const other of [{ ...at, workspace: 'ws_b' }, { ...at, table: 'connections' }, { ...at, column: 'secret' }, { ...at, row: 'other' }, { ...at, row: ['t', 'ok'] }]) {
      expect(() => box.decrypt(c, other)).toThrow(SecretError);
      expect(() => box.decrypt(c, other)).toThrow(/does not belong to this row/);
    }
    // Parts are encoded, so `a:b` + `c` and `a` + `b:c` are different contexts.
    const colon = box.encrypt('x', { ...at, workspace: 'w:vault_secrets' });
    expect(() => box.decrypt(colon, { ...at, workspace: 'w', table: 'vault_secrets:vault_secrets' })).toThrow(SecretError);
    const iv = crypto.randomBytes(12);
    const key = Buffer.from(crypto.hkdfSync('sha256', k1, Buffer.alloc(0), 'agent-platform:secrets:v1', 32));
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update('old', 'utf8'), cipher.final()]);
    const v1 = ['v1', keyId(k1), iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    expect(() => box.decrypt(v1, at)).toThrow(/v1 format.*ap migrate/);
    expect(box.decryptLegacy(v1)).toBe('old');
    expect(() => box.decryptLegacy(c)).toThrow(SecretError);
  });

  it('API keys are random, hashed one-way and previewed by their last 4 characters', () => {
    const key = newApiKey();
    expect(key).toMatch(/^ap_[A-Za-z0-9_-]{32}$/);
    expect(newApiKey()).not.toBe(key);
    expect(hashApiKey(key)).toHaveLength(64);
    expect(hashApiKey(key)).not.toContain(key.slice(3));
    expect(preview('sk-abcdef1234')).toBe('…1234');
  });
});

describe('private-network guard', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '0.0.0.0'])('%s is private', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700::1111', '172.32.0.1'])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });
  it('checks the resolved address, and can be switched off', async () => {
    await expect(assertPublicUrl('http://localhost:8080/x', false)).rejects.toThrow(/private or loopback/);
    await expect(assertPublicUrl('http://[::1]/', false)).rejects.toThrow(/private/);
    await expect(assertPublicUrl('http://[::ffff:127.0.0.1]:9/', false)).rejects.toThrow(/private/);
    await expect(assertPublicUrl('http://localhost:8080/x', true)).resolves.toBeUndefined();
  });
});
