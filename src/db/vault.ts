// Vault secrets: named values, encrypted at rest, that tool headers reference as {{vault.NAME}}.
import type { Queryable } from './pool';

export interface VaultRow {
  id: string;
  workspace_id: string;
  name: string;
  value_enc: string;
  created_at: Date;
  updated_at: Date;
}

export async function getVaultSecrets(q: Queryable, ws: string, names: string[]): Promise<VaultRow[]> {
  return (await q.query<VaultRow>('SELECT * FROM vault_secrets WHERE workspace_id = $1 AND name = ANY($2)', [ws, names])).rows;
}

export async function listVault(q: Queryable, ws: string, limit: number, after?: string): Promise<VaultRow[]> {
  return (
    await q.query<VaultRow>(
      'SELECT * FROM vault_secrets WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3',
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertVault(q: Queryable, id: string, ws: string, name: string, valueEnc: string): Promise<VaultRow | undefined> {
  return (
    await q.query<VaultRow>(
      'INSERT INTO vault_secrets (id, workspace_id, name, value_enc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *',
      [id, ws, name, valueEnc],
    )
  ).rows[0];
}

export async function updateVault(q: Queryable, ws: string, name: string, valueEnc: string): Promise<VaultRow | undefined> {
  return (
    await q.query<VaultRow>(
      'UPDATE vault_secrets SET value_enc = $3, updated_at = now() WHERE workspace_id = $1 AND name = $2 RETURNING *',
      [ws, name, valueEnc],
    )
  ).rows[0];
}

export async function deleteVault(q: Queryable, ws: string, name: string): Promise<boolean> {
  return ((await q.query('DELETE FROM vault_secrets WHERE workspace_id = $1 AND name = $2', [ws, name])).rowCount ?? 0) > 0;
}
