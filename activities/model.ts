// The model call: one streamed request to the agent's provider. Token deltas go straight to live
// subscribers through PostgreSQL NOTIFY (never through workflow history); the result is the whole message.
import { ApplicationFailure, Context } from '@temporalio/activity';
import * as catalog from '../src/db/catalog';
import { newId } from '../src/db/ids';
import { RUN_ERROR } from '../src/domain/errors';
import type { AssistantMessage, Message, ToolCall } from '../src/domain/message';
import { callAnthropic } from '../src/providers/anthropic';
import { callOpenAI } from '../src/providers/openai';
import { ProviderError, type ModelAdapter, type ModelTool } from '../src/providers/types';
import { assertPublicUrl, PrivateNetworkError } from '../src/security/network-guard';
import { validateArguments } from '../src/services/json-schema';
import { withStrictDefaults } from '../src/domain/tool';
import type { ActivityDeps } from './deps';
import { DELTAS_CHANNEL } from './store';
import { startHeartbeat } from './heartbeat';
import { redactor } from './tools';
import { activityLog } from './log';

const ADAPTERS: Record<string, ModelAdapter> = { openai: callOpenAI, anthropic: callAnthropic };
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
  card: string;
  model?: string;
  instructions: string;
  messages: Message[];
  tools: ModelTool[];
  max_output_tokens?: number;
}

export interface CheckedToolCall extends ToolCall {
  /** Set when the model's arguments are not valid JSON or fail the tool's schema: the call is not executed. */
  arguments_error?: string;
}

export interface ModelCallResult {
  message: AssistantMessage;
  tool_calls: CheckedToolCall[];
  usage: { input_tokens: number; output_tokens: number; cost_usd: number };
  card: string;
  model: string;
  finish_reason: string;
}

export function createModelActivities({ db, config, secrets, log }: ActivityDeps) {
  return {
    async callModel(input: ModelCallInput): Promise<ModelCallResult> {
      const ctx = Context.current();
      const callLog = activityLog(log, { run_id: input.run_id, workspace_id: input.workspace_id, request_id: input.request_id }).child({ step: input.step, card: input.card });
      const started = Date.now();
      const card = await catalog.getModelCard(db, input.workspace_id, input.card);
      if (!card) throw ApplicationFailure.nonRetryable(`Model card ${input.card} does not exist`, RUN_ERROR.model_error);
      const apiKey = secrets.decrypt(card.api_key_enc);
      const headers = card.headers_enc ? (JSON.parse(secrets.decrypt(card.headers_enc)) as Record<string, string>) : {};
      const redact = redactor([apiKey, ...Object.values(headers)]);
      try {
        await assertPublicUrl(card.base_url, config.allowPrivateNetwork);
      } catch (err) {
        if (err instanceof PrivateNetworkError) throw ApplicationFailure.nonRetryable(err.message, RUN_ERROR.model_error);
        throw err;
      }
      const model = input.model ?? card.default_model;
      const attempt = ctx.info.attempt;
      let pending = '';
      let flushing: Promise<unknown> = Promise.resolve();
      let lastFlush = 0;
      const flush = (): void => {
        if (!pending) return;
        lastFlush = Date.now();
        const text = pending;
        pending = '';
        for (let i = 0; i < text.length; i += MAX_NOTIFY_TEXT) {
          const payload = JSON.stringify({ run_id: input.run_id, step: input.step, attempt, text: text.slice(i, i + MAX_NOTIFY_TEXT) });
          flushing = flushing.then(() => db.query('SELECT pg_notify($1, $2)', [DELTAS_CHANNEL, payload]).catch(() => undefined));
        }
      };
      const timer = setInterval(flush, DELTA_FLUSH_MS);
      const stopHeartbeat = startHeartbeat();
      try {
        const result = await ADAPTERS[card.provider]!(
          { base_url: card.base_url, api_key: apiKey, headers },
          { model, instructions: input.instructions, messages: input.messages, tools: input.tools, max_output_tokens: input.max_output_tokens },
          { signal: ctx.cancellationSignal, onDelta: (t) => {
            pending += t;
            if (Date.now() - lastFlush >= DELTA_FLUSH_MS) flush();
          }, onChunk: () => ctx.heartbeat() },
        );
        flush();
        await flushing;
        const schemas = new Map(input.tools.map((t) => [t.name, t.input_schema]));
        const tool_calls: CheckedToolCall[] = result.tool_calls.map((raw) => checkToolCall(raw.name, raw.arguments_json, schemas.get(raw.name)));
        const pricing = card.pricing;
        const cost_usd = pricing
          ? (result.usage.input_tokens * pricing.input_per_mtok + result.usage.output_tokens * pricing.output_per_mtok) / 1_000_000
          : 0;
        callLog.info(
          { model, ms: Date.now() - started, input_tokens: result.usage.input_tokens, output_tokens: result.usage.output_tokens, tool_calls: tool_calls.length, finish_reason: result.finish_reason },
          'model call completed',
        );
        const message: AssistantMessage = {
          role: 'assistant',
          content: result.text ? [{ type: 'output_text', text: result.text }] : [],
          ...(tool_calls.length ? { tool_calls: tool_calls.map(({ id, name, arguments: a }) => ({ id, name, arguments: a })) } : {}),
        };
        return { message, tool_calls, usage: { ...result.usage, cost_usd }, card: card.id, model, finish_reason: result.finish_reason };
      } catch (err) {
        // The provider's message may quote content: the log gets its kind only, the run's error gets the rest.
        const error = err instanceof ProviderError ? { status: err.status ?? null, retryable: err.retryable } : { name: (err as Error)?.name };
        if (ctx.cancellationSignal.aborted) callLog.info({ model, ms: Date.now() - started }, 'model call canceled');
        else callLog.warn({ model, ms: Date.now() - started, error }, 'model call failed');
        if (err instanceof ProviderError) {
          const message = redact(err.message);
          if (!err.retryable) throw ApplicationFailure.nonRetryable(message, RUN_ERROR.model_error);
          throw ApplicationFailure.retryable(message, 'provider_unavailable');
        }
        throw err;
      } finally {
        clearInterval(timer);
        stopHeartbeat();
      }
    },
  };
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
