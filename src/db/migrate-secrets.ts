// The v1 → v2 step of encryption at rest: every v1 (unbound) ciphertext is re-encrypted bound to its
// cell. Runs inside the migration transaction, after the SQL files, so no process serves before it is
// done; it touches only rows still in v1, in keyset-ordered batches, so running it again does nothing.
import type pg from 'pg';
import { isLegacyCiphertext, type SecretBox } from '../security/secrets';
import { SECRET_CELLS, type SecretCellTable } from './secret-cells';

const BATCH = 500;

export async function migrateSecrets(c: pg.PoolClient, secrets: SecretBox | undefined): Promise<number> {
  let migrated = 0;
  for (const t of SECRET_CELLS) for (const [column, logical] of Object.entries(t.columns)) migrated += await migrateColumn(c, secrets, t, column, logical);
  return migrated;
}

async function migrateColumn(c: pg.PoolClient, secrets: SecretBox | undefined, t: SecretCellTable, column: string, logical: string): Promise<number> {
  // Identifiers come from SECRET_CELLS, never from input.
  const value = t.jsonEnc ? `${column}->>'enc'` : column;
  const keyCols = ['workspace_id', ...t.key];
  const keyList = keyCols.join(', ');
  const after = keyCols.map((_, i) => `$${i + 1}`).join(', ');
  let cursor: string[] | undefined;
  let migrated = 0;
  for (;;) {
    const r = await c.query<Record<string, string>>(
      `SELECT ${keyList}, ${value} AS enc FROM ${t.table} WHERE ${value} LIKE 'v1:%' ${cursor ? `AND (${keyList}) > (${after})` : ''}
        ORDER BY ${keyList} LIMIT ${BATCH}`,
      cursor ?? [],
    );
    if (r.rows.length === 0) return migrated;
    if (!secrets) throw new Error(`${t.table}.${column} holds v1 ciphertexts: migrating them needs the master key (AP_MASTER_KEY)`);
    for (const row of r.rows) {
      if (!isLegacyCiphertext(row.enc!)) continue;
      const context = { workspace: row.workspace_id!, table: t.table, column: logical, row: t.key.map((k) => row[k]!) };
      let plaintext: string;
      try {
        plaintext = secrets.decryptLegacy(row.enc!);
      } catch {
        // Under a key no longer configured, or corrupted: it could not be read before either. It stays as
        // it is (its use fails, naming the row's object); one tenant's bad row must not stop every start.
        continue;
      }
      const enc = secrets.encrypt(plaintext, context);
      const set = t.jsonEnc ? `${column} = jsonb_set(${column}, '{enc}', to_jsonb($1::text))` : `${column} = $1`;
      const where = keyCols.map((k, i) => `${k} = $${i + 2}`).join(' AND ');
      await c.query(`UPDATE ${t.table} SET ${set} WHERE ${where}`, [enc, ...keyCols.map((k) => row[k])]);
      migrated++;
    }
    cursor = keyCols.map((k) => r.rows[r.rows.length - 1]![k]!);
  }
}
