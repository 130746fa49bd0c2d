// What a run works with, loaded once its session's turn is its own: by the API at create when the turn is
// its own then (in the workflow's input), else by the workflow's beginRun activity. Types only.
import type { AgentSpec } from './agent';
import type { Message } from './message';
import type { Constraints } from './run';
import type { ToolSpec } from './tool';

export interface RunContext {
  workspace_id: string;
  session_id: string;
  request_id: string | null;
  agent: AgentSpec;
  tools: ToolSpec[];
  /** The session's earlier messages, then this run's input. */
  history: Message[];
  input: Message[];
  constraints: Constraints;
  /**
   * The session's environment (API.md 11), by reference only: `tools` is already narrowed to its
   * allowed_tools, and its overrides and variables are applied inside the tool activity at call time.
   */
  environment_id?: string;
  /** The workspace's remaining monthly token budget when the run started; absent = no budget. */
  tokens_remaining?: number;
  /** A case of a dry-run eval (API.md 10): write tools are answered from their dry run, never executed. */
  tool_mode?: 'dry_run';
}
