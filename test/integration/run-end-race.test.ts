// A run ends once, though two writers can end it (patch 'answer-stored-with-model-v1'): the model
// activity stores the run's end with an answer without tool calls, while a cancel (or the timeout) makes
// the workflow store an end of its own with the same seqs. Whichever commits first is the run's end, in
// the store and in Temporal alike; the other stores nothing. The race is set up for real: the test holds
// the session's row (every batch of a run locks it), lets both writers queue behind it in a chosen order,
// and lets go.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { allEvents, env, historyText, setupAgent, waitFor, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const BLOCKED_BEHIND = `WITH RECURSIVE blocked(pid) AS (
    SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))
    UNION SELECT a.pid FROM pg_stat_activity a JOIN blocked b ON b.pid = ANY(pg_blocking_pids(a.pid)))
  SELECT count(*)::int AS n FROM blocked`;

/** Holds a session's row, as a batch does, and counts the transactions waiting behind it. */
async function holdSession(sessionId: string) {
  const c = new pg.Client({ connectionString: env().databaseUrl });
  await c.connect();
  const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await c.query('BEGIN');
  await c.query('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [sessionId]);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await c.query('COMMIT');
    await c.end();
  };
  cleanups.push(release);
  return {
    waiters: (n: number, what: string) =>
      // A second waiter waits for the first (which holds the row's place in line), not for this client.
      waitFor(async () => (await c.query<{ n: number }>(BLOCKED_BEHIND, [pid])).rows[0]!.n >= n, what, 20_000),
    release,
  };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** A run whose first batch is stored and whose model call waits for `answer` to open. */
async function runAwaitingAnswer(text: string) {
  const { api, llm } = await setupAgent();
  cleanups.push(() => llm.close());
  const answer = gate();
  llm.reply({ text, until: answer.promise });
  const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi' })).body;
  await waitFor(async () => llm.requests.length === 1 && (await allEvents(api, run.id)).some((e) => e.type === 'step.started'), 'the model call to start');
  // The model activity's first heartbeat has gone out: the next one, which would tell it of a cancel, is
  // throttled for seconds, so the activity goes on to store the answer as a cancel reaches the workflow.
  await new Promise((r) => setTimeout(r, 700));
  return { api, llm, run, answer };
}

/** The run's events are numbered 1..n without a gap, and exactly one of them ends the run. */
function expectOneEnd(events: { seq: number; type: string }[], end: string): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => ['run.completed', 'run.failed', 'run.canceled'].includes(e.type)).map((e) => e.type)).toEqual([end]);
  expect(events.at(-1)!.type).toBe(end);
}

describe('a cancel and the answer that would end the run, at the same moment', () => {
  it('the answer stored first: the run is completed, in the store and in Temporal, though the cancel was accepted', async () => {
    const { api, run, answer } = await runAwaitingAnswer('The answer.');
    const hold = await holdSession(run.session_id);
    answer.open();
    await hold.waiters(1, 'the model activity to wait to store the answer');
    expect((await api.post(`/v1/runs/${run.id}/cancel`, {})).status).toBe(202);
    await hold.waiters(2, "the canceled workflow's end to wait behind it");
    await hold.release();

    const done = await waitForStatus(api, run.id, ['completed', 'canceled', 'failed'], 20_000);
    expect(done).toMatchObject({ status: 'completed', output_text: 'The answer.', error: null });
    const events = await allEvents(api, run.id);
    expectOneEnd(events, 'run.completed');
    expect(events.map((e) => e.type)).not.toContain('run.canceled');
    // The workflow took the stored end as its own: completed, with the state the store has.
    await waitFor(async () => (await historyText(api, run.id)).includes('WORKFLOW_EXECUTION_COMPLETED'), 'the workflow to complete');
    expect(await historyText(api, run.id)).not.toContain('WORKFLOW_EXECUTION_CANCELED');
    // The session's transcript has the answer once, as after any completed run.
    const messages = (await api.get(`/v1/sessions/${run.session_id}/messages`)).body.data;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
  });

  it('the cancel stored first: the run is canceled and the answer that came after it is not stored', async () => {
    const { api, llm, run, answer } = await runAwaitingAnswer('Too late.');
    const hold = await holdSession(run.session_id);
    expect((await api.post(`/v1/runs/${run.id}/cancel`, {})).status).toBe(202);
    await hold.waiters(1, "the canceled workflow's end to wait to be stored");
    answer.open();
    await hold.waiters(2, 'the model activity to wait to store the answer behind it');
    await hold.release();

    const done = await waitForStatus(api, run.id, ['completed', 'canceled', 'failed'], 20_000);
    expect(done).toMatchObject({ status: 'canceled', output_text: null });
    // The provider gave the whole answer: only the stored end kept it out of the run.
    expect(llm.requests[0]!.aborted).toBe(false);
    const events = await allEvents(api, run.id);
    expectOneEnd(events, 'run.canceled');
    expect(events.map((e) => e.type)).not.toContain('message.completed');
    const messages = (await api.get(`/v1/sessions/${run.session_id}/messages`)).body.data;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user']);
    await waitFor(async () => (await historyText(api, run.id)).includes('WORKFLOW_EXECUTION_CANCELED'), 'the workflow to end canceled');
  });
});
