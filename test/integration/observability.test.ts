// Observability of one run: every log line about it, in the API and in the worker (activities and the
// workflow logger), carries run_id, workspace_id and request_id; Temporal's visibility finds it by the
// run search attributes (ApWorkspaceId, ApAgentId, ApRunStatus) while it waits and once it has ended.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { env, httpTool, setupAgent, waitFor } from '../support/api';

type LogLine = Record<string, unknown> & { msg?: string };

/** The JSON lines of one of the shared processes' logs (global setup writes them to env().logDir). */
function logLines(file: 'api.log' | 'worker.log'): { raw: string; line: LogLine }[] {
  const text = fs.readFileSync(path.join(env().logDir, file), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((raw) => ({ raw, line: JSON.parse(raw) as LogLine }));
}

let temporal: Client;
beforeAll(async () => {
  const connection = await Connection.connect({ address: env().temporalAddress });
  temporal = new Client({ connection, namespace: env().namespace });
});
afterAll(async () => {
  await temporal?.connection.close();
});

/** Workflow ids matching a visibility query; visibility is eventually consistent, so callers poll. */
async function list(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of temporal.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

describe('observability of a run', () => {
  it('every log line about a run carries run_id, workspace_id and request_id, in the API and in the worker', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    try {
      tools.route('/w', { body: { temp_c: 21 } });
      await httpTool(api, 'weather', `${tools.url}/w`);
      await api.patch('/v1/agents/assistant', { tools: ['weather'] });
      const workspace = (await api.get('/v1/workspaces/current')).body.id as string;
      const created = `req_logs_${crypto.randomUUID()}`;
      const read = `req_logs_${crypto.randomUUID()}`;
      llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'Oslo' } }] }, { text: 'Mild.' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'weather?', wait: true }, { 'x-request-id': created })).body;
      expect(run.status).toBe('completed');
      expect((await api.get(`/v1/runs/${run.id}`, { 'x-request-id': read })).status).toBe(200);

      // The processes write their logs through a pipe: wait until the last expected lines are there.
      const about = (file: 'api.log' | 'worker.log') => logLines(file).filter(({ raw }) => raw.includes(run.id));
      const worker = await waitFor(async () => {
        const lines = about('worker.log');
        return lines.some(({ line }) => line.msg === 'run ended') && lines;
      }, 'the worker to log the end of the run');
      const apiLines = await waitFor(async () => {
        const lines = about('api.log');
        return lines.some(({ line }) => line.request_id === read) && lines;
      }, 'the API to log the read');

      // Every line that mentions the run carries all three ids; in the worker the request is the one
      // that created the run, in the API each request's own.
      for (const { line } of worker) {
        expect({ run_id: line.run_id, workspace_id: line.workspace_id, request_id: line.request_id }, line.msg).toEqual({ run_id: run.id, workspace_id: workspace, request_id: created });
      }
      for (const { line } of apiLines) {
        expect({ run_id: line.run_id, workspace_id: line.workspace_id }, line.msg).toEqual({ run_id: run.id, workspace_id: workspace });
        expect([created, read]).toContain(line.request_id);
      }
      expect(apiLines.filter(({ line }) => line.msg === 'request').map(({ line }) => [line.request_id, line.method, line.path, line.status])).toEqual(
        expect.arrayContaining([
          [created, 'POST', '/v1/runs', 200],
          [read, 'GET', '/v1/runs/:id', 200],
        ]),
      );
      // Each activity logs through its own child logger; the workflow through Temporal's workflow logger.
      // (The run's events are stored by its model and tool calls, its end with the last answer: no recordEvents.)
      const activities = new Set(worker.map(({ line }) => line.activity).filter(Boolean));
      for (const a of ['callModel', 'executeTool']) expect(activities).toContain(a);
      const fromWorkflow = worker.filter(({ line }) => line.sdk_component === 'workflow');
      expect(fromWorkflow.map(({ line }) => line.msg)).toEqual(['run started', 'run ended']);
      expect(fromWorkflow[1]!.line).toMatchObject({ workflow_type: 'runWorkflow', workflow_id: run.id, status: 'completed' });
      // Content stays out of the log: neither the input nor the tool's answer.
      expect(worker.some(({ raw }) => raw.includes('weather?') || raw.includes('Oslo'))).toBe(false);
    } finally {
      await llm.close();
      await tools.close();
    }
  });

  it("Temporal's visibility finds runs by workspace, agent and status, the status kept current by the workflow", async () => {
    const tools = await startToolServer();
    const { api, llm, agent } = await setupAgent();
    try {
      tools.route('/t', { body: { ticket: 'T-1' } });
      await api.post('/v1/tools', { name: 'ticket', effect: 'write', input_schema: { type: 'object', properties: { title: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/t` } });
      await api.patch('/v1/agents/assistant', { tools: ['ticket'] });
      const workspace = (await api.get('/v1/workspaces/current')).body.id as string;
      const mine = `ApWorkspaceId='${workspace}' AND ApAgentId='${agent.id}'`;

      llm.reply({ text: 'Done.' });
      const done = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
      expect(done.status).toBe('completed');
      llm.reply({ tool_calls: [{ name: 'ticket', arguments: { title: 'x' } }] });
      const parked = (await api.post('/v1/runs', { agent: 'assistant', input: 'open a ticket', wait: true })).body;
      expect(parked.status).toBe('waiting_approval');

      // Workflow ids are the run ids here (no Idempotency-Key).
      expect(await waitFor(async () => (await list(`${mine} AND ApRunStatus='completed'`)).join() === done.id, 'the completed run in visibility')).toBe(true);
      expect(await waitFor(async () => (await list(`${mine} AND ApRunStatus='waiting_approval'`)).join() === parked.id, 'the waiting run in visibility')).toBe(true);
      expect((await list(`ApWorkspaceId='${workspace}'`)).sort()).toEqual([done.id, parked.id].sort());

      expect((await api.post(`/v1/runs/${parked.id}/cancel`, {})).status).toBe(202);
      expect(await waitFor(async () => (await list(`${mine} AND ApRunStatus='canceled'`)).join() === parked.id, 'the canceled run in visibility')).toBe(true);
    } finally {
      await llm.close();
      await tools.close();
    }
  });
});
