// What a run used (API.md 3): tokens, calls, steps and cost. Zod-free: workflows count it (see defaults.ts).
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  model_calls: number;
  tool_calls: number;
  steps: number;
  cost_usd: number;
}

export const emptyUsage = (): Usage => ({
  input_tokens: 0,
  output_tokens: 0,
  model_calls: 0,
  tool_calls: 0,
  steps: 0,
  cost_usd: 0,
});
