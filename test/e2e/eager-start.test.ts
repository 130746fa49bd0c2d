// Issue 18: under `ap start` (API and worker in one process) run workflows start with eager workflow
// start, so the first workflow task comes back with the start and runs on the local worker without a trip
// through matching. A server that declines (dynamic config) gets normal starts and runs complete all the
// same; an outage of Temporal is still a quick 503 temporal_unavailable. Each `ap start` here runs against
// a Temporal dev server of the test's own (TEMPORAL_ADDRESS), with its embedded PostgreSQL.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { DEV_SERVER_SQLITE_PRAGMAS, DEV_SERVER_TUNING, freePort, type DevServerTuning } from '../../src/temporal/dev-server';
import { ownTemporal, type OwnTemporal } from '../support/own-temporal';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { Api, env, waitFor } from '../support/api';
import { canary } from '../support/canaries';
import { spawnAp, type ApProcess } from '../support/processes';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A dev server of the test's own (killed and restarted by the outage test) and a client on it. */
type TemporalWithClient = OwnTemporal & { client: Client };

async function ownTemporalWithClient(name: string, tuning: DevServerTuning): Promise<TemporalWithClient> {
  const server = await ownTemporal(name, tuning);
  cleanups.push(() => server.stop());
  const connection = await Connection.connect({ address: server.address });
  cleanups.push(() => connection.close());
  return { ...server, client: new Client({ connection }) };
}

/** `ap start` on that Temporal server, with an agent whose model (a fake OpenAI) answers at once. */
async function startPlatform(name: string, temporalAddress: string, extraEnv: Record<string, string> = {}): Promise<{ api: Api; llm: FakeLlm }> {
  const dataDir = path.join(env().runDir, name);
  fs.mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const proc: ApProcess = spawnAp(['start'], {
    AP_DATA_DIR: dataDir, AP_PORT: String(port), AP_ALLOW_PRIVATE_NETWORK: 'true', LOG_LEVEL: 'debug', TEMPORAL_ADDRESS: temporalAddress, ...extraEnv,
  }, path.join(env().logDir, `${name}.log`));
  cleanups.push(() => proc.kill('SIGKILL'));
  await proc.ready;
  const api = new Api(/^Admin API key: (\S+)$/m.exec(proc.output())![1]!, `http://127.0.0.1:${port}`);
  const llm = await startFakeLlm('openai');
  cleanups.push(() => llm.close());
  llm.respond(() => ({ text: 'done' }));
  expect((await api.post('/v1/model_cards', { id: 'fake', provider: 'openai', base_url: llm.baseUrl, api_key: canary('eager'), default_model: 'm' })).status).toBe(201);
  expect((await api.post('/v1/agents', { name: 'assistant', model: { card: 'fake' } })).status).toBe(201);
  return { api, llm };
}

async function completedRuns(api: Api, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api.post('/v1/runs', { agent: 'assistant', input: `hello ${i}`, wait: true });
    expect(r.body.status, JSON.stringify(r.body)).toBe('completed');
    ids.push(r.body.id);
  }
  return ids;
}

async function starts(api: Api): Promise<{ eager: number; normal: number }> {
  const r = await api.get('/metrics');
  expect(r.status).toBe(200);
  const count = (eager: boolean): number => Number(new RegExp(`^ap_run_workflow_starts_total\\{eager="${eager}"\\} (\\d+)$`, 'm').exec(r.body as string)?.[1] ?? NaN);
  return { eager: count(true), normal: count(false) };
}

/**
 * Whether the first workflow task of a run went through matching. A task a worker polled from matching
 * is stamped in history with the poller's worker version (its build id) and the history size; the one
 * handed back with an eager start is written with the start itself, before any poll, and has neither.
 */
async function firstTaskPolled(temporal: TemporalWithClient, workflowId: string): Promise<boolean> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events!.find((e) => e.workflowTaskStartedEventAttributes)!.workflowTaskStartedEventAttributes!;
  return Boolean(started.workerVersion?.buildId);
}

describe('eager workflow start under ap start', () => {
  it('runs start eagerly (the first workflow task skips matching), and an outage of Temporal is still a quick 503', async () => {
    const temporal = await ownTemporalWithClient('eager-on', { dynamicConfig: DEV_SERVER_TUNING, sqlitePragmas: DEV_SERVER_SQLITE_PRAGMAS });
    const { api } = await startPlatform('eager-on', temporal.address);
    const ids = await completedRuns(api, 3);
    expect(await starts(api)).toEqual({ eager: 3, normal: 0 });
    for (const id of ids) expect(await firstTaskPolled(temporal, id), id).toBe(false);

    await temporal.kill();
    const t0 = Date.now();
    const refused = await api.post('/v1/runs', { agent: 'assistant', input: 'during the outage' });
    const tookMs = Date.now() - t0;
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body.error.code).toBe('temporal_unavailable');
    expect(refused.headers.get('retry-after')).toBe('5');
    // The SDK's own retries of the eager start last ~6 s; the answer does not wait for them.
    expect(tookMs).toBeLessThan(3_000);
    // The refused run's row goes once its start has failed for good (nothing runs it).
    await waitFor(async () => {
      const r = await api.get('/v1/runs?limit=100');
      return r.status === 200 && !(r.body.data as { input: unknown }[]).some((x) => JSON.stringify(x.input).includes('during the outage'));
    }, 'the refused run to be removed', 30_000);

    await temporal.restart();
    const after = await waitFor(async () => {
      const r = await api.post('/v1/runs', { agent: 'assistant', input: 'after the outage', wait: true });
      return r.status === 200 || r.status === 201 || r.status === 202 ? r : undefined;
    }, 'a run to be accepted after the restart', 60_000);
    expect(after.body.status).toBe('completed');
    expect((await starts(api)).eager).toBe(4);
  });

  it('a server that declines eager starts gets normal ones, and runs complete', async () => {
    const temporal = await ownTemporalWithClient('eager-declined', {
      dynamicConfig: { ...DEV_SERVER_TUNING, 'system.enableEagerWorkflowStart': 'false' },
      sqlitePragmas: DEV_SERVER_SQLITE_PRAGMAS,
    });
    const { api } = await startPlatform('eager-declined', temporal.address);
    const ids = await completedRuns(api, 3);
    expect(await starts(api)).toEqual({ eager: 0, normal: 3 });
    for (const id of ids) expect(await firstTaskPolled(temporal, id), id).toBe(true);
  });
});
