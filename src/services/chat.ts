// The OpenAI-compatible agent endpoint (API.md 7): a thin mapping of Chat Completions onto an ordinary
// run in a new session (same workflow, same events). Streaming sends standard chat.completion.chunk
// frames; the named agent events carry chunk-shaped data with empty `choices`, so that SDK clients that
// read every frame as a chunk keep working while a raw SSE reader sees the event names.
import * as catalog from '../db/agents';
import { PlatformError, RUN_CANCELED, RUN_ERROR, RunFailedError } from '../domain/errors';
import type { AgentSpec } from '../domain/agent';
import { contentText, type ChatCompletionRequest } from '../domain/chat';
import type { Message } from '../domain/message';
import { isPaused, isTerminal, type RunCreate } from '../domain/run';
import type { Principal } from '../domain/workspace';
import type { ServiceDeps } from './deps';
import { earlyFollower, followRun, type RunFollower } from './follow-run';
import { StreamedAnswer } from './streamed-answer';
import { createRunInNewSession, eventPage, getRun, runProgress, waitForRun, type RunStartHooks, type RunView } from './runs';

type RunEventView = Awaited<ReturnType<typeof eventPage>>[number];
const PAGE = 200;

const WAIT_SECONDS = 600;

async function resolveModel(deps: ServiceDeps, p: Principal, model: string) {
  const name = model.replace(/^agent:/, '');
  const agent = await catalog.findAgent(deps.db, p.workspace_id, name);
  if (!agent || agent.archived_at) throw new PlatformError('not_found', `The model (agent) ${model} does not exist`, 'model');
  const version = (await catalog.getAgentVersion(deps.db, agent.id, agent.current_version))!;
  if ((version.spec as AgentSpec).enabled === false) throw new PlatformError('agent_disabled', `Agent ${agent.name} is disabled`, 'model');
  return agent;
}

/** System and developer messages become user turns marked as such: the agent's own instructions stay first. */
function toMessages(body: ChatCompletionRequest): Message[] {
  return body.messages.map((m): Message => {
    const text = contentText(m.content);
    if (m.role === 'assistant') return { role: 'assistant', content: text ? [{ type: 'output_text', text }] : [] };
    const prefix = m.role === 'user' ? '' : `[${m.role}] `;
    return { role: 'user', content: [{ type: 'input_text', text: `${prefix}${text}` }] };
  });
}

/** Called with the run id as soon as the run exists: the audit record is written at creation. */
type OnCreated = (runId: string) => Promise<void>;

async function startRun(deps: ServiceDeps, p: Principal, body: ChatCompletionRequest, requestId: string, idempotencyKey?: string, onCreated?: OnCreated, hooks: RunStartHooks = {}) {
  const agent = await resolveModel(deps, p, body.model);
  const create: RunCreate = { input: 'chat', wait: false, stream: false, wait_timeout_seconds: 60, constraints: {}, metadata: { via: 'chat.completions' }, if_busy: 'reject' };
  // A refused run removes the session made for it (createRunInNewSession).
  const session = { agent: agent.id, ...(body.user ? { user_reference: body.user } : {}) };
  const run = await createRunInNewSession(deps, p, session, create, requestId, idempotencyKey, toMessages(body), hooks);
  await onCreated?.(run.id);
  return { agent, run, started: Date.now() };
}

function metadata(agent: catalog.AgentRow, run: RunView, started: number) {
  return {
    execution_id: run.id,
    agent_id: agent.id,
    agent_name: agent.name,
    agent_version: run.agent_version,
    steps_executed: run.usage.steps,
    tool_calls: run.usage.tool_calls,
    total_latency_ms: Date.now() - started,
    status: run.status,
    ...(run.status === 'waiting_approval' ? { pending_approvals: run.pending_approvals } : {}),
    ...(run.status === 'waiting_auth' ? { pending_authorizations: run.pending_authorizations } : {}),
  };
}

const usageOf = (run: RunView) => ({
  prompt_tokens: run.usage.input_tokens,
  completion_tokens: run.usage.output_tokens,
  total_tokens: run.usage.input_tokens + run.usage.output_tokens,
});

/**
 * A paused run ends the answer: `approval_required` for an approval or a client tool (API.md 7), and
 * `auth_required` while the user is asked to authorize a connection (API.md 12; our choice, since the
 * contract names no reason for it), with the URLs in `agent_metadata.pending_authorizations`.
 */
function finishReason(status: string): 'stop' | 'length' | 'approval_required' | 'auth_required' {
  if (status === 'waiting_approval' || status === 'tool_required') return 'approval_required';
  if (status === 'waiting_auth') return 'auth_required';
  return status === 'completed' ? 'stop' : 'length';
}

function failure(run: RunView): RunFailedError {
  const code = run.status === 'canceled' ? RUN_CANCELED : (run.error?.code ?? RUN_ERROR.internal_error);
  return new RunFailedError(code, run.error?.message ?? `The agent run ended ${run.status}`);
}

export async function complete(deps: ServiceDeps, p: Principal, body: ChatCompletionRequest, requestId: string, idempotencyKey?: string, onCreated?: OnCreated) {
  const { agent, run, started } = await startRun(deps, p, body, requestId, idempotencyKey, onCreated);
  const done = await waitForRun(deps, p, run.id, WAIT_SECONDS);
  if (done.status === 'failed' || done.status === 'canceled') throw failure(done);

  return {
    id: `chatcmpl-${run.id}`,
    object: 'chat.completion' as const,
    created: Math.floor(started / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: done.output_text ?? '', refusal: null },
        finish_reason: finishReason(done.status),
        logprobs: null,
      },
    ],
    usage: usageOf(done),
    agent_metadata: metadata(agent, done, started),
  };
}

const NAMED: Record<string, string> = {
  'step.started': 'step_start',
  // Agentlify's names (API.md 16): the call's arguments are in, the tool is about to be decided and run.
  'tool_call.requested': 'tool_call_complete',
  'tool_call.started': 'tool_call_start',
  'tool_call.completed': 'tool_result',
  'tool_call.failed': 'tool_result',
  'step.completed': 'step_complete',
};

/** Where a streamed answer goes (the API's SSE response): opened once the run exists. */
export interface ChatStreamSink {
  open(): void;
  write(text: string): void;
  end(): void;
  /** Called when the client goes away. */
  onClose(listener: () => void): void;
}

export async function stream(deps: ServiceDeps, p: Principal, body: ChatCompletionRequest, requestId: string, res: ChatStreamSink, idempotencyKey?: string, onCreated?: OnCreated): Promise<void> {
  const follow = (runId: string, catchUp: boolean): RunFollower<RunEventView> =>
    followRun<RunEventView>({
      bus: deps.bus,
      runId,
      afterSeq: 0,
      deltas: true,
      readPage: (afterSeq) => eventPage(deps, runId, afterSeq, PAGE),
      pageSize: PAGE,
      readRun: () => runProgress(deps, runId),
      pollMs: 1000,
      catchUp,
    });
  // Made as the run's id is chosen, before its workflow starts: a fast model's first deltas are kept.
  const early = earlyFollower((runId) => follow(runId, false));
  let started: Awaited<ReturnType<typeof startRun>>;
  try {
    started = await startRun(deps, p, body, requestId, idempotencyKey, onCreated, early.hooks);
  } catch (err) {
    early.close();
    throw err;
  }
  const { agent, run, started: startedAt } = started;
  // An idempotent retry of an existing run follows it from its stored events.
  const follower = early.take(run.id) ?? follow(run.id, true);
  early.close();
  res.open();
  const created = Math.floor(startedAt / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id: `chatcmpl-${run.id}`, object: 'chat.completion.chunk', created, model: body.model, choices, ...extra });
  const data = (obj: unknown): void => void res.write(`data: ${JSON.stringify(obj)}\n\n`);
  /** The stream's last frame when it ends in error, in the OpenAI error shape (the SDKs raise it). */
  const errorFrame = (err: { type: string; code: string; message: string }): void => data({ error: { type: err.type, code: err.code, message: err.message } });
  const named = (event: string, payload: Record<string, unknown>): void =>
    void res.write(`event: ${event}\ndata: ${JSON.stringify(chunk([], { agent_event: { type: event, run_id: run.id, ...payload } }))}\n\n`);

  let closed = false;
  res.onClose(() => {
    closed = true;
    follower.close();
  });
  data(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  named('agent_start', { agent_id: agent.id, agent_name: agent.name });
  try {
    // The status the run paused in, as its event said: by the time the run is read it may have moved on.
    let pausedIn: string | undefined;
    let end = false;
    let interrupted = false;
    const answer = new StreamedAnswer();
    const text = (content: string): void => {
      if (content) data(chunk([{ index: 0, delta: { content }, finish_reason: null }]));
    };
    for await (const item of follower) {
      if (item.kind === 'delta') {
        text(answer.delta(item.delta));
        continue;
      }
      const e = item.event;
      if (e.type === 'message.completed') {
        const rest = answer.completed(e.data.step, e.data.message.content.map((part) => part.text).join(''));
        if (rest === undefined) {
          interrupted = true;
          break;
        }
        text(rest);
      }
      const name = NAMED[e.type];
      if (name) named(name, e.data);
      if (e.type === 'skill.loaded') named('skill_invocation', { skill_name: e.data.skill_id, success: true, files: e.data.files });
      if (e.type === 'run.status_changed' && isPaused(String(e.data.to))) {
        end = true;
        pausedIn = String(e.data.to);
      }
      if (isTerminal(e.type.replace('run.', ''))) end = true;
      if (end) break;
    }
    if (interrupted && !closed) {
      errorFrame(
        new PlatformError(
          'stream_interrupted',
          `A model call of run ${run.id} broke off after part of its answer was streamed, and its retry answered differently: discard the text of this stream. The run goes on; GET /v1/runs/${run.id} has its answer.`,
        ),
      );
    } else if (end && !closed) {
      const final = await getRun(deps, p, run.id);
      if (final.status === 'failed' || final.status === 'canceled') {
        errorFrame(failure(final));
      } else {
        data(chunk([{ index: 0, delta: {}, finish_reason: finishReason(isTerminal(final.status) ? final.status : (pausedIn ?? final.status)) }], { usage: usageOf(final) }));
        named('agent_complete', { agent_metadata: metadata(agent, final, startedAt) });
      }
    }
  } finally {
    follower.close();
    if (!closed) res.write('data: [DONE]\n\n');
    res.end();
  }
}

export async function listModels(deps: ServiceDeps, p: Principal) {
  const agents = await catalog.listAgents(deps.db, p.workspace_id, 100);
  const data = [];
  for (const a of agents.slice(0, 100)) {
    const v = await catalog.getAgentVersion(deps.db, a.id, a.current_version);
    if ((v?.spec as AgentSpec | undefined)?.enabled === false) continue;
    data.push({ id: a.name, object: 'model' as const, created: Math.floor(a.created_at.getTime() / 1000), owned_by: p.workspace_name });
  }
  return { object: 'list' as const, data };
}
