// Applies the numbered SQL files in migrations/ once each, in order, under an advisory lock so that
// several processes starting together do not race; then the steps that need the master key (v1 secrets
// re-encrypted bound to their rows, legacy audit chains anchored), in the same transaction, so nothing
// serves before they are done. Those steps are idempotent and run at every start; without `secrets`
// they fail only if they find work.
import fs from 'node:fs';
import path from 'node:path';
import type { SecretBox } from '../security/secrets';
import { anchorLegacyChains } from './audit';
import { migrateSecrets } from './migrate-secrets';
import type { Db } from './pool';
import { transaction } from './pool';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
const LOCK_ID = 804_417_001;

export async function migrate(db: Db, secrets?: SecretBox): Promise<string[]> {
  const files = fs.readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  return transaction(db, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await client.query(fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
      await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
    await migrateSecrets(client, secrets);
    await anchorLegacyChains(client, secrets?.audit);
    return applied;
  });
}
