// Which Temporal server the suite really runs on: the dev server (SQLite) by default, the
// production-style server on PostgreSQL under AP_TEST_TEMPORAL=postgres (vitest.temporal-postgres.config.mts).
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_WORKFLOW_TYPE } from '../../workflows/definitions';
import { TEMPORAL_SERVER_VERSION } from '../support/temporal-postgres';
import { env, setupAgent, waitFor } from '../support/api';

let connection: Connection;
let client: Client;
beforeAll(async () => {
  connection = await Connection.connect({ address: env().temporalAddress });
  client = new Client({ connection, namespace: env().namespace });
});
afterAll(async () => {
  await connection.close();
});

describe('the Temporal backend', () => {
  it('is the server this suite was set up for', async () => {
    const info = await connection.workflowService.getClusterInfo({});
    if (env().temporalBackend === 'postgres') {
      expect(info).toMatchObject({ serverVersion: TEMPORAL_SERVER_VERSION, persistenceStore: 'postgres12', visibilityStore: 'postgres12' });
    } else {
      expect(info.persistenceStore).toBe('sqlite');
    }
  });

  it("runs the platform's run workflow, with its search attributes queryable in visibility", async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'done' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
      expect(run).toMatchObject({ object: 'run', status: 'completed', output_text: 'done' });
      // Without an Idempotency-Key the workflow id is the run id.
      const handle = client.workflow.getHandle(run.id);
      // The run is completed in PostgreSQL a moment before its workflow closes.
      await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 'the workflow to close');
      const history = await handle.fetchHistory();
      expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe(RUN_WORKFLOW_TYPE);
      expect(history.events?.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
      // The platform registered its search attributes on this server at start; SQL visibility is
      // eventually consistent, hence the polling.
      await waitFor(async () => {
        for await (const wf of client.workflow.list({ query: `WorkflowId = '${run.id}' AND ApRunStatus = 'completed'` })) return wf.workflowId === run.id;
        return false;
      }, 'the run in visibility by its search attributes');
    } finally {
      await llm.close();
    }
  });
});
