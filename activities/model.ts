// The model call: one streamed request to the agent's provider, then to its fallback cards in order when
// the provider may be the problem (API.md 12). Token deltas go straight to live subscribers through
// PostgreSQL NOTIFY (never through workflow history); the result is the whole message.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { modelOfRun } from '../src/db/agents';
import { getModelCard, type ModelCardRow } from '../src/db/model-cards';
import type { Db } from '../src/db/pool';
import { newId } from '../src/db/ids';
import type { CardRef } from '../src/domain/agent';
import { RUN_ERROR } from '../src/domain/errors';
import type { AssistantMessage, Message, ToolCall } from '../src/domain/message';
import { callAnthropic } from '../src/providers/anthropic';
import { classifyModelFailure, deltaAttempt } from '../src/providers/failover';
import { callOpenAI } from '../src/providers/openai';
import { callEcho } from '../src/providers/echo';
import { ProviderError, type ModelAdapter, type ModelResult, type ModelTool } from '../src/providers/types';
import { guardedFetch, privateNetworkCause } from '../src/security/network-guard';
import { validateArguments } from '../src/core/json-schema';
import { withStrictDefaults } from '../src/domain/tool';
import type { ActivityDeps } from './deps';
import { writeHandedBatch, writeRunBatch, type EventBatch } from './run-log';
import { answerEnd, type AnswerPlan } from '../src/domain/run-answer';
import type { RunState } from '../src/domain/run';
import { getRun, listEvents, storedEndState } from '../src/db/runs';
import { DELTAS_CHANNEL } from '../workflows/definitions';
import { startHeartbeat } from './heartbeat';
import { redactor, type Redactor } from '../src/security/redact';
import { activityLog } from './log';
import { resolveInputFiles } from '../src/core/input-files';
import { cell } from '../src/db/secret-cells';
import { SecretError } from '../src/security/secrets';

const ADAPTERS: Record<string, ModelAdapter> = { openai: callOpenAI, anthropic: callAnthropic, echo: callEcho };
// Token text goes out at once when nothing went out for DELTA_FLUSH_MS, else with the next tick: the first
// token is not delayed, and a fast stream costs at most one NOTIFY per tick (issue 7 measured 40 ms ticks
// as the whole of the added inter-token delay).
const DELTA_FLUSH_MS = 15;
// NOTIFY payloads are limited to 8000 bytes: 1000 characters stay below it even fully escaped.
const MAX_NOTIFY_TEXT = 1000;

export interface ModelCallInput {
  workspace_id: string;
  run_id: string;
  /** The request that created the run, for log lines (absent in runs started before it was passed). */
  request_id?: string | null;
  step: number;
  /** The primary card; its fallbacks are read from the run's pinned agent version. */
  card: string;
  model?: string;
  instructions: string;
  messages: Message[];
  tools: ModelTool[];
  max_output_tokens?: number;
  /** The run's events so far, stored before the provider is called (patch 'store-with-activity-v1'). */
  store?: EventBatch;
  /** An answer without tool calls ends the run here, stored with it (patch 'answer-stored-with-model-v1'). */
  finish?: AnswerPlan;
}

export interface CheckedToolCall extends ToolCall {
  /** Set when the model's arguments are not valid JSON or fail the tool's schema: the call is not executed. */
  arguments_error?: string;
}

export interface ModelCallResult {
  message: AssistantMessage;
  tool_calls: CheckedToolCall[];
  usage: { input_tokens: number; output_tokens: number; cost_usd: number };
  /** The card and model that answered: a fallback's when the primary failed. */
  card: string;
  model: string;
  finish_reason: string;
  /** Set when the run's end was stored with this answer (`finish`): the run's final state. */
  finished?: RunState;
}

export function createModelActivities(deps: ActivityDeps) {
  const { db, config, secrets, log } = deps;
  // The private-network guard runs in each connection's own lookup (no separate check to rebind around).
  const fetch = guardedFetch(config.allowPrivateNetwork);
  const open = (card: ModelCardRow) => {
    let api_key: string, headers: Record<string, string>;
    try {
      api_key = secrets.decrypt(card.api_key_enc, cell.modelCard(card, 'api_key'));
      headers = card.headers_enc ? (JSON.parse(secrets.decrypt(card.headers_enc, cell.modelCard(card, 'headers'))) as Record<string, string>) : {};
    } catch (err) {
      // Retrying cannot help a ciphertext that belongs elsewhere (or a missing key): the run fails now, saying which card.
      if (err instanceof SecretError) throw ApplicationFailure.nonRetryable(`Model card ${card.id}: ${err.message}`, RUN_ERROR.model_error);
      throw err;
    }
    return { endpoint: { base_url: card.base_url, api_key, headers, fetch }, redact: redactor([api_key, ...Object.values(headers)]) };
  };
  return {
    async callModel(input: ModelCallInput): Promise<ModelCallResult> {
      const ctx = Context.current();
      const stepLog = activityLog(log, { run_id: input.run_id, workspace_id: input.workspace_id, request_id: input.request_id }).child({ step: input.step });
      // A retry after an attempt that stored the run's end (and then failed to report it) answers with that end.
      const stored = input.finish && ctx.info.attempt > 1 ? await storedAnswer(deps, input, input.finish) : undefined;
      if (stored) return stored;
      // The batch is stored (on its own pooled connection) while the card is read: both come before the first token.
      const [primary, pinned] = await Promise.all([
        getModelCard(db, input.workspace_id, input.card),
        modelOfRun(db, input.run_id),
        input.store ? writeHandedBatch(deps, input.run_id, input.store) : undefined,
      ]);
      if (!primary) throw ApplicationFailure.nonRetryable(`Model card ${input.card} does not exist`, RUN_ERROR.model_error);
      // The workflow passes the primary only; the fallbacks belong to the primary they were saved with.
      const chain: CardRef[] = [{ card: input.card, model: input.model }, ...(pinned?.card === input.card ? (pinned.fallbacks ?? []) : [])];
      const tried: { card: string; status: number | null }[] = [];
      let last: { err: unknown; retryable: boolean; redact: Redactor } | undefined;
      let sent: Promise<unknown> = Promise.resolve();
      const stopHeartbeat = startHeartbeat();
      try {
        // Files are read here, for each call: their content never enters workflow history (only file_id does).
        const messages = await resolveInputFiles(db, input.workspace_id, input.messages);
        for (const [i, ref] of chain.entries()) {
          // A fallback card deleted since the agent was saved is passed over, like a card that failed.
          const card = i === 0 ? primary : await getModelCard(db, input.workspace_id, ref.card);
          if (!card) {
            stepLog.warn({ card: ref.card }, 'fallback model card does not exist: skipped');
            continue;
          }
          const model = ref.model ?? card.default_model;
          const cardLog = stepLog.child({ card: card.id });
          const { endpoint, redact } = open(card);
          // Each card streams under an attempt of its own (src/providers/failover.ts), after the earlier ones' deltas.
          const deltas = deltaWriter(db, input, deltaAttempt(ctx.info.attempt, chain.length, i), redact, sent);
          const started = Date.now();
          // The card's timeout bounds the wait for its first chunk, not a long answer that is streaming.
          const firstChunk = new AbortController();
          const timer = card.timeout_seconds ? setTimeout(() => firstChunk.abort(), card.timeout_seconds * 1000) : undefined;
          let result: ModelResult;
          try {
            result = await ADAPTERS[card.provider]!(
              endpoint,
              { model, instructions: input.instructions, messages, tools: input.tools, max_output_tokens: input.max_output_tokens },
              {
                signal: AbortSignal.any([ctx.cancellationSignal, firstChunk.signal]),
                onDelta: deltas.push,
                onChunk: () => {
                  clearTimeout(timer);
                  ctx.heartbeat();
                },
              },
            );
          } catch (caught) {
            clearTimeout(timer);
            const err = firstChunk.signal.aborted && !ctx.cancellationSignal.aborted ? new ProviderError(`Model provider did not answer within ${card.timeout_seconds}s`, undefined, true) : caught;
            sent = deltas.end(false);
            if (ctx.cancellationSignal.aborted) {
              cardLog.info({ model, ms: Date.now() - started }, 'model call canceled');
              throw err;
            }
            // The provider's message may quote content: the log gets the status and kind only, the run's error the rest.
            const failure = classifyModelFailure(err);
            tried.push({ card: card.id, status: failure.status });
            last = { err, retryable: failure.retryable, redact };
            const next = failure.fallback ? chain[i + 1]?.card : undefined;
            const kind = err instanceof ProviderError ? {} : { name: (err as Error)?.name };
            cardLog.warn(
              { model, ms: Date.now() - started, error: { status: failure.status, reason: failure.reason, retryable: failure.retryable, ...kind }, fallback: next ?? null },
              next ? 'model call failed: trying the next fallback card' : 'model call failed',
            );
            if (failure.fallback) continue;
            break;
          }
          clearTimeout(timer);
          await deltas.end(true);
          if (tried.length) cardLog.warn({ model, failed: tried }, 'model call answered by a fallback card');
          return await endWithAnswer(deps, input, answer(result, { card: card.id, model, pricing: card.pricing, redact, tools: input.tools }, cardLog, started), cardLog);
        }
        throw failureOf(last!, tried);
      } finally {
        stopHeartbeat();
      }
    },
  };
}

/**
 * Token text of one card's stream to NOTIFY under its delta attempt, after `after` (the earlier cards'),
 * so a client never sees an older attempt's text after a newer one's.
 */
function deltaWriter(db: Db, input: ModelCallInput, attempt: number, redact: Redactor, after: Promise<unknown>) {
  let pending = '';
  let sent = after;
  let lastFlush = 0;
  // A provider (or a gateway before it) may quote the key or a header back in its answer: text is
  // redacted before it leaves, and an end that could begin a secret waits for the next piece.
  const flush = (final = false): void => {
    const clean = redact(pending);
    const keep = final ? 0 : redact.partialAtEnd(clean);
    const text = clean.slice(0, clean.length - keep);
    pending = clean.slice(clean.length - keep);
    if (!text) return;
    lastFlush = Date.now();
    for (let i = 0; i < text.length; i += MAX_NOTIFY_TEXT) {
      const payload = JSON.stringify({ run_id: input.run_id, step: input.step, attempt, text: text.slice(i, i + MAX_NOTIFY_TEXT) });
      sent = sent.then(() => db.query('SELECT pg_notify($1, $2)', [DELTAS_CHANNEL, payload]).catch(() => undefined));
    }
  };
  const timer = setInterval(() => flush(), DELTA_FLUSH_MS);
  return {
    push: (t: string): void => {
      pending += t;
      if (Date.now() - lastFlush >= DELTA_FLUSH_MS) flush();
    },
    /** Stops the writer: a complete answer sends what was held back; a failed attempt's rest is dropped. */
    end: (complete: boolean): Promise<unknown> => {
      clearInterval(timer);
      if (complete) flush(true);
      return sent;
    },
  };
}

interface Answerer {
  card: string;
  model: string;
  pricing: ModelCardRow['pricing'];
  redact: Redactor;
  tools: ModelTool[];
}

/** The activity's result from the answering card's stream, priced with that card's pricing. */
function answer(result: ModelResult, by: Answerer, cardLog: ActivityDeps['log'], started: number): ModelCallResult {
  const schemas = new Map(by.tools.map((t) => [t.name, t.input_schema]));
  // Redacting inside the JSON text keeps it JSON: `[redacted]` needs no escaping.
  const tool_calls: CheckedToolCall[] = result.tool_calls.map((raw) => checkToolCall(raw.name, by.redact(raw.arguments_json), schemas.get(raw.name)));
  const text = by.redact(result.text);
  const cost_usd = by.pricing
    ? (result.usage.input_tokens * by.pricing.input_per_mtok + result.usage.output_tokens * by.pricing.output_per_mtok) / 1_000_000
    : 0;
  cardLog.info(
    { model: by.model, ms: Date.now() - started, input_tokens: result.usage.input_tokens, output_tokens: result.usage.output_tokens, tool_calls: tool_calls.length, finish_reason: result.finish_reason },
    'model call completed',
  );
  const message: AssistantMessage = {
    role: 'assistant',
    content: text ? [{ type: 'output_text', text }] : [],
    ...(tool_calls.length ? { tool_calls: tool_calls.map(({ id, name, arguments: a }) => ({ id, name, arguments: a })) } : {}),
  };
  return { message, tool_calls, usage: { ...result.usage, cost_usd }, card: by.card, model: by.model, finish_reason: result.finish_reason };
}

/**
 * An answer without tool calls ends the run: its events, the final state and the transcript are stored
 * here, and the workflow, told so by `finished`, ends without storing anything (one local activity and
 * one workflow activation fewer, and the run is over for its readers a workflow task earlier). Not when
 * the run is being canceled or a limit fails it, nor when the run already ended otherwise (a cancel or
 * the timeout that reached the workflow first): then the workflow ends the run as before. A failure to
 * store leaves it to the workflow too, which retries through outages.
 */
async function endWithAnswer(deps: ActivityDeps, input: ModelCallInput, result: ModelCallResult, cardLog: ActivityDeps['log']): Promise<ModelCallResult> {
  const plan = input.finish;
  if (!plan || result.tool_calls.length > 0 || Context.current().cancellationSignal.aborted) return result;
  const before = plan.state ?? input.store?.state;
  const end = before && answerEnd(plan, before, input.step, result, new Date().toISOString());
  if (!end) return result;
  try {
    const { ended } = await writeRunBatch(deps, input.run_id, end, [...input.messages.slice(plan.history_length), result.message]);
    return ended ? result : { ...result, finished: end.state };
  } catch (err) {
    cardLog.warn({ err: (err as Error).message }, "could not store the run's end with its answer: the workflow stores it");
    return result;
  }
}

/**
 * The answer an earlier attempt stored as the run's end (its `message.completed` at the plan's seq), if one
 * did. What came after that commit (the webhook deliveries' start, the budget alert, the session's next
 * run) may not have happened: the end is written again, which stores nothing twice and does those again.
 */
async function storedAnswer(deps: ActivityDeps, input: ModelCallInput, plan: AnswerPlan): Promise<ModelCallResult | undefined> {
  const run = await getRun(deps.db, input.run_id);
  if (!run || run.status !== 'completed' || run.last_seq < plan.seq) return undefined;
  const [event] = await listEvents(deps.db, input.run_id, plan.seq - 1, 1);
  if (event?.seq !== plan.seq || event.type !== 'message.completed') return undefined;
  const d = event.data as unknown as Omit<ModelCallResult, 'tool_calls' | 'finished'>;
  const answer = { message: d.message, tool_calls: [], usage: d.usage, card: d.card, model: d.model, finish_reason: d.finish_reason };
  const state = storedEndState(run);
  const before = plan.state ?? input.store?.state;
  const end = before && answerEnd(plan, before, input.step, answer, state.completed_at!);
  if (end) await writeRunBatch(deps, input.run_id, end, [...input.messages.slice(plan.history_length), answer.message]);
  return { ...answer, finished: state };
}

/** The activity's failure: the last card's error, classified as it would be without fallbacks. */
function failureOf(last: { err: unknown; retryable: boolean; redact: Redactor }, tried: { card: string; status: number | null }[]): unknown {
  const blocked = privateNetworkCause(last.err);
  if (blocked) return ApplicationFailure.nonRetryable(blocked.message, RUN_ERROR.model_error);
  // Anything else is a broken stream (classifyModelFailure), retried by Temporal as it always was.
  if (!(last.err instanceof ProviderError)) return last.err;
  const cards = tried.length > 1 ? ` (cards tried: ${tried.map((t) => `${t.card} ${t.status ?? 'no answer'}`).join(', ')})` : '';
  const message = last.redact(last.err.message) + cards;
  if (!last.retryable) return ApplicationFailure.nonRetryable(message, RUN_ERROR.model_error);
  return ApplicationFailure.retryable(message, 'provider_unavailable');
}

function checkToolCall(name: string, argumentsJson: string, schema: Record<string, unknown> | undefined): CheckedToolCall {
  const id = newId('tc');
  let args: unknown;
  try {
    args = argumentsJson.trim() === '' ? {} : JSON.parse(argumentsJson);
  } catch {
    return { id, name, arguments: {}, arguments_error: 'arguments are not valid JSON' };
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) {
    return { id, name, arguments: {}, arguments_error: 'arguments must be a JSON object' };
  }
  const error = schema ? validateArguments(withStrictDefaults(schema), args) : null;
  return { id, name, arguments: args as Record<string, unknown>, ...(error ? { arguments_error: error } : {}) };
}
