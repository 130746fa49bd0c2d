// A run's context (src/domain/run-context.ts): its agent as of the run's version, with skills and memory
// tools joined, the workspace tools it may call (narrowed to the session's environment), the session's
// earlier messages, the run's input and constraints and the workspace's remaining token budget. Loaded by
// the API at create when the run's turn in its session is its own at once (the workflow then starts
// without a beginRun activity, issue 18), else by beginRun once the turn has come.
import type { Config } from '../config';
import type { Queryable } from '../db/pool';
import { getAgentVersion, type AgentVersionRow } from '../db/agents';
import { getToolsByName } from '../db/tools';
import * as runs from '../db/runs';
import { environmentOfRun } from '../db/environments';
import type { AgentSpec } from '../domain/agent';
import { narrowTools } from '../domain/environment';
import type { Constraints } from '../domain/run';
import type { RunContext } from '../domain/run-context';
import { instructionsWithSkills, LOAD_SKILL_TOOL, loadSkillTool } from '../domain/skill';
import type { ToolSpec } from '../domain/tool';
import { remainingTokens } from './budgets';
import { memoryToolsFor } from './memory';
import { skillsOf } from './skills';

/** The run's data is inconsistent (its agent version is missing): retrying cannot help. */
export class RunContextError extends Error {}

/**
 * What the caller has just read itself (the API at create), so that it is not read again: the agent
 * version, the workspace's remaining tokens (`null`: no budget), and that the session is new (no messages).
 */
export interface KnownForRun {
  version?: AgentVersionRow;
  tokens_remaining?: number | null;
  new_session?: boolean;
}

export async function loadRunContext(db: Queryable, config: Config, run: runs.RunRow, known: KnownForRun = {}): Promise<RunContext> {
  const runId = run.id;
  // Independent reads in parallel (on separate pooled connections): this is on every run's start path.
  const [version, messages, remaining, environment] = await Promise.all([
    known.version ?? getAgentVersion(db, run.agent_id, run.agent_version),
    known.new_session ? [] : runs.sessionMessages(db, run.session_id),
    known.tokens_remaining !== undefined ? (known.tokens_remaining ?? undefined) : remainingTokens(db, config, run.workspace_id),
    environmentOfRun(db, run.workspace_id, runId),
  ]);
  if (!version) throw new RunContextError(`Agent version missing for run ${runId}`);
  const spec = version.spec as AgentSpec;
  const [toolRows, skills, memoryTools] = await Promise.all([
    getToolsByName(db, run.workspace_id, spec.tools ?? []),
    skillsOf(db, run.workspace_id, spec.skills ?? []),
    memoryToolsFor(db, run.workspace_id, spec.memory),
  ]);
  // A tool outside the environment's allowed_tools is not the agent's tool in this run: the model is not
  // offered it, and the workflow's "not on the agent's list" rule denies a call to it (API.md 2.2).
  let tools = narrowTools(toolRows.map((t) => ({ name: t.name, ...(t.spec as Omit<ToolSpec, 'name'>) })), environment?.allowed_tools);
  let agent = spec;
  if (skills.length) {
    // Skills (API.md 11) are given to the run here, not in the workflow: the model is told each skill's
    // title and description in the instructions, and `load_skill` joins the agent's tools (replacing a
    // workspace tool of that name). The context is in the history (the workflow's input or beginRun's
    // result), so replays see the same.
    tools = [...tools.filter((t) => t.name !== LOAD_SKILL_TOOL), loadSkillTool(skills)];
    agent = {
      ...spec,
      instructions: instructionsWithSkills(spec.instructions ?? '', skills),
      tools: [...(spec.tools ?? []).filter((t) => t !== LOAD_SKILL_TOOL), LOAD_SKILL_TOOL],
    };
  }
  if (memoryTools.length) {
    // Memory (API.md 11), like skills: `memory_search` (and `memory_write` with `write: true`) join the
    // agent's tools, replacing workspace tools of those names; the store is looked up again at call time.
    const names = memoryTools.map((t) => t.name);
    tools = [...tools.filter((t) => !names.includes(t.name)), ...memoryTools];
    agent = { ...agent, tools: [...(agent.tools ?? []).filter((t) => !names.includes(t)), ...names] };
  }
  const history = messages.filter((m) => m.run_id !== runId).map((m) => m.message);
  return {
    ...(remaining !== undefined ? { tokens_remaining: remaining } : {}),
    ...(environment ? { environment_id: environment.id } : {}),
    ...(run.tool_mode ? { tool_mode: run.tool_mode } : {}),
    workspace_id: run.workspace_id,
    session_id: run.session_id,
    request_id: run.request_id,
    agent,
    tools,
    history,
    input: run.input,
    constraints: run.constraints as Constraints,
  };
}
