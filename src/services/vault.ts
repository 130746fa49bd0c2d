// Vault secrets: values encrypted at rest, by name; every read answers with the name and dates only.
import type { Db } from '../db/pool';
import * as repo from '../db/vault';
import { newId } from '../db/ids';
import { alreadyExists, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import type { Principal } from '../domain/workspace';
import { cell } from '../db/secret-cells';
import type { SecretBox } from '../security/secrets';
import { list } from './deps';

const vaultView = (v: repo.VaultRow) => ({
  id: v.id,
  object: 'vault_secret' as const,
  name: v.name,
  created_at: isoDate(v.created_at),
  updated_at: isoDate(v.updated_at),
});

export async function createVault(db: Db, secrets: SecretBox, p: Principal, name: string, value: string) {
  const row = await repo.insertVault(db, newId('vlt'), p.workspace_id, name, secrets.encrypt(value, cell.vault(p.workspace_id, name)));
  if (!row) throw alreadyExists(`Vault secret ${name}`, 'name');
  return vaultView(row);
}

export async function getVault(db: Db, p: Principal, name: string) {
  const [row] = await repo.getVaultSecrets(db, p.workspace_id, [name]);
  if (!row) throw notFound('vault secret', 'name');
  return vaultView(row);
}

export async function listVault(db: Db, p: Principal, q: ListQuery) {
  return list(await repo.listVault(db, p.workspace_id, q.limit, q.after), q.limit, vaultView);
}

export async function updateVault(db: Db, secrets: SecretBox, p: Principal, name: string, value: string) {
  const row = await repo.updateVault(db, p.workspace_id, name, secrets.encrypt(value, cell.vault(p.workspace_id, name)));
  if (!row) throw notFound('vault secret', 'name');
  return vaultView(row);
}

export async function deleteVault(db: Db, p: Principal, name: string) {
  if (!(await repo.deleteVault(db, p.workspace_id, name))) throw notFound('vault secret', 'name');
  return { name, object: 'vault_secret' as const, deleted: true };
}
