// A run's end when its model answers without tool calls, as the model activity stores it (patch
// 'answer-stored-with-model-v1'): the events the workflow would emit after that answer (run-loop.ts
// takeModelResult and finishWithAnswer, run-end.ts completeRun), numbered from the workflow's next seq,
// and the run's final state. Zod-free and without I/O, like the rest of src/domain.
import type { PendingEvent } from './event';
import type { AssistantMessage } from './message';
import type { RunState } from './run';

/** What the workflow tells the model activity so that it can end the run with an answer. */
export interface AnswerPlan {
  /** The seq of the answer's `message.completed`: the workflow's next. */
  seq: number;
  /** The run's state before this model call's usage; absent when it is the state of the batch the call was handed. */
  state?: RunState;
  /** How many of the call's messages are the session's history: the rest is the run's transcript so far. */
  history_length: number;
  /** The run's token limit and the workspace budget left (null: none); over either the run fails instead. */
  max_tokens: number | null;
  budget: number | null;
}

export interface ModelAnswer {
  message: AssistantMessage;
  usage: { input_tokens: number; output_tokens: number; cost_usd: number };
  card: string;
  model: string;
  finish_reason: string;
}

/**
 * The answer's events and the run's state once it ended with it, from the run's state before the call;
 * undefined when a limit fails the run instead.
 */
export function answerEnd(plan: AnswerPlan, before: RunState, step: number, answer: ModelAnswer, completedAt: string): { events: PendingEvent[]; state: RunState } | undefined {
  const usage = {
    ...before.usage,
    model_calls: before.usage.model_calls + 1,
    input_tokens: before.usage.input_tokens + answer.usage.input_tokens,
    output_tokens: before.usage.output_tokens + answer.usage.output_tokens,
    cost_usd: before.usage.cost_usd + answer.usage.cost_usd,
  };
  const tokens = usage.input_tokens + usage.output_tokens;
  if ((plan.max_tokens !== null && tokens > plan.max_tokens) || (plan.budget !== null && tokens > plan.budget)) return undefined;
  const state: RunState = {
    ...before,
    status: 'completed',
    completed_at: completedAt,
    usage,
    output: [answer.message],
    output_text: answer.message.content.map((p) => p.text).join(''),
  };
  const kinds: [PendingEvent['type'], Record<string, unknown>][] = [
    ['message.completed', { step, message: answer.message, usage: answer.usage, card: answer.card, model: answer.model, finish_reason: answer.finish_reason }],
    ['step.completed', { step }],
    ['run.status_changed', { from: before.status, to: 'completed' }],
    ['run.completed', { output_text: state.output_text, usage }],
  ];
  return { events: kinds.map(([type, data], i) => ({ seq: plan.seq + i, type, data })), state };
}
