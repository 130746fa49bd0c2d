// Holding the API at a known point while the worker goes on: an EXCLUSIVE lock on audit_log makes the
// API's audit write of a create wait (reads and the run's own writes go on), so that a test can let a
// run finish before the API has answered its create. Hostile timing for streams that start late.
import pg from 'pg';

export interface Hold {
  /** Resolves once the agent's newest run has this status (the API still held). */
  runReaches(agentId: string, status: string): Promise<void>;
  release(): Promise<void>;
}

export async function holdAuditWrites(databaseUrl: string): Promise<Hold> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  const watch = new pg.Client({ connectionString: databaseUrl });
  await Promise.all([lock.connect(), watch.connect()]);
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE audit_log IN EXCLUSIVE MODE');
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
