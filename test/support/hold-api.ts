// Holding the API at a known point while the worker goes on: the workspace's audit lock (the advisory
// lock src/db/audit.ts appends under) makes the API's audit write of a create in that workspace wait
// (reads, the run's own writes and other workspaces go on), so that a test can let a run finish before
// the API has answered its create. Hostile timing for streams that start late.
import pg from 'pg';

export interface Hold {
  /** Resolves once the agent's newest run has this status (the API still held). */
  runReaches(agentId: string, status: string): Promise<void>;
  release(): Promise<void>;
}

export async function holdAuditWrites(databaseUrl: string, workspaceId: string): Promise<Hold> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  const watch = new pg.Client({ connectionString: databaseUrl });
  await Promise.all([lock.connect(), watch.connect()]);
  await lock.query('BEGIN');
  // A table lock here held every workspace's audit writes: parallel test files timed out on the API's pool.
  await lock.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit:${workspaceId}`]);
  let released = false;
  return {
    async runReaches(agentId, status) {
      for (let i = 0; ; i++) {
        const { rows } = await watch.query<{ status: string }>('SELECT status FROM runs WHERE agent_id = $1 ORDER BY created_at DESC LIMIT 1', [agentId]);
        if (rows[0]?.status === status) return;
        if (i > 300) throw new Error(`the run did not reach ${status} while the API was held: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async release() {
      if (released) return;
      released = true;
      await lock.query('COMMIT').catch(() => undefined);
      await Promise.all([lock.end(), watch.end()]);
    },
  };
}
