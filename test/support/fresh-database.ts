// A new, migrated database on a PostgreSQL server, with workspace `default` and a known admin key: what
// the test setup and the benchmark each start from.
import crypto from 'node:crypto';
import pg from 'pg';
import { createPool } from '../../src/db/pool';
import { migrate } from '../../src/db/migrate';
import { bootstrap } from '../../src/services/workspaces';

export async function freshDatabase(serverUrl: string, prefix: string): Promise<{ databaseUrl: string; adminKey: string }> {
  const dbName = `${prefix}_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const db = createPool(databaseUrl, 2);
  try {
    await migrate(db);
    const adminKey = `${prefix}_${crypto.randomBytes(18).toString('base64url')}`;
    await bootstrap(db, adminKey);
    return { databaseUrl, adminKey };
  } finally {
    await db.end();
  }
}
