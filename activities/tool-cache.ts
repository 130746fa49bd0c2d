// Tool result caching (API.md 16): a read http tool with `cache_ttl_seconds` answers an identical call
// from the stored result. Identical means the same key (`cacheKey`): the workspace, the tool's definition
// as the run carries it with the session environment's override and variables applied (so an updated
// tool, another environment or another variable value never meets an older answer), the arguments
// (canonical JSON), the end user (the session's user_reference; null is a user of its own), and when each
// vault secret the headers name was last written (a rotated token may see other data; values never enter
// the key). Not cached: dry runs, action invocations (not runs of a session), error results, answers over
// the tool body limit; what may set a TTL at all is domain/tool.ts cacheRefusal.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../src/domain/policy';
import { cacheTtlOf, type ToolSpec } from '../src/domain/tool';
import { VAULT_REF } from '../src/domain/vault';
import { endUserOfRun, getCachedResult, storeCachedResult, vaultWrittenAt } from '../src/db/tool-result-cache';
import { BODY_LIMITS } from '../src/security/bounded-body';
import type { ActivityDeps } from './deps';
import type { ToolCallInput, ToolCallResult } from './tools';

type HttpExecutor = Extract<ToolSpec['executor'], { type: 'http' }>;

export interface ToolCache {
  /** The stored answer, as the tool's result with `cached: true`; undefined when there is none (or it expired). */
  lookup(): Promise<ToolCallResult | undefined>;
  /** Keeps a successful answer for the tool's TTL. Never fails the call: a lost store only costs a later call. */
  keep(output: unknown): Promise<void>;
}

/** Bumped when what goes into the key changes, so that older keys are never met again. */
const KEY_VERSION = 1;

export function cacheKey(parts: {
  workspace_id: string;
  tool: ToolSpec;
  executor: HttpExecutor;
  arguments: Record<string, unknown>;
  user_reference: string | null;
  vault: { name: string; updated_at: string }[];
}): string {
  const { tool, executor, ...rest } = parts;
  return createHash('sha256').update(canonicalJson({ v: KEY_VERSION, ...rest, tool: { ...tool, executor } })).digest('hex');
}

/** The cache of this call, or undefined when its answer is not to be reused. `executor` is the one the environment made. */
export async function toolCacheFor({ db, log }: Pick<ActivityDeps, 'db' | 'log'>, input: ToolCallInput, executor: HttpExecutor): Promise<ToolCache | undefined> {
  const ttl = cacheTtlOf(input.tool);
  if (!ttl || input.dry_run) return undefined;
  const ws = input.workspace_id;
  const owner = await endUserOfRun(db, ws, input.run_id);
  if (!owner) return undefined;
  const names = new Set<string>();
  for (const v of Object.values(executor.headers ?? {})) for (const m of v.matchAll(VAULT_REF)) names.add(m[1]!);
  const written = names.size ? await vaultWrittenAt(db, ws, [...names]) : [];
  // A missing secret fails the call (activities/tools.ts resolveVault): nothing to look up or keep.
  if (written.length < names.size) return undefined;
  const key_hash = cacheKey({
    workspace_id: ws,
    tool: input.tool,
    executor,
    arguments: input.tool_call.arguments,
    user_reference: owner.user_reference,
    vault: written.map((r) => ({ name: r.name, updated_at: r.updated_at.toISOString() })).sort((a, b) => a.name.localeCompare(b.name)),
  });
  return {
    async lookup() {
      const hit = await getCachedResult(db, ws, key_hash);
      return hit ? { ok: true, output: hit.output, cached: true } : undefined;
    },
    async keep(output) {
      const json = JSON.stringify(output);
      if (Buffer.byteLength(json) > BODY_LIMITS.tool) return;
      try {
        await storeCachedResult(db, { workspace_id: ws, key_hash, tool_name: input.tool.name, run_id: input.run_id, tool_call_id: input.tool_call.id, output_json: json, ttl_seconds: ttl });
      } catch (err) {
        // An answer PostgreSQL cannot store as jsonb (a \u0000 in a string, say) is simply not kept.
        log.warn({ err, run_id: input.run_id, tool: input.tool.name }, 'tool result not cached');
      }
    },
  };
}
