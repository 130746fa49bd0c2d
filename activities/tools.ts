// Tool execution: http tools (with the session environment's overrides, {{env.NAME}} and {{vault.NAME}}
// resolved here, at call time) and built-ins. The result goes back to the model; secrets never leave
// this activity, and the workflow history carries the tool as defined, never resolved values. A read http
// tool with cache_ttl_seconds may be answered from the tool result cache instead (tool-cache.ts).
import { ApplicationFailure, Context } from '@temporalio/activity';
import { getVaultSecrets, type VaultRow } from '../src/db/vault';
import { appendAudit } from '../src/db/audit';
import { VAULT_REF } from '../src/domain/vault';
import { environmentOfRun } from '../src/db/environments';
import { applyToolOverride, envRefs, fillEnv } from '../src/domain/environment';
import type { ToolSpec } from '../src/domain/tool';
import { LOAD_SKILL_TOOL } from '../src/domain/skill';
import { getConnection } from '../src/db/connections';
import { scopesFor } from '../src/domain/connection';
import { usableToken } from '../src/core/oauth';
import { userOfRun } from './connections';
import { loadSkill } from '../src/core/skills';
import { MEMORY_SEARCH_TOOL, MEMORY_TOOLS, memoryEntryCreateSchema, memorySearchSchema } from '../src/domain/memory';
import { searchStore, writeEntry } from '../src/core/memory';
import { storeOfRun } from '../src/db/memory';
import { isUnavailable, PlatformError } from '../src/domain/errors';
import type { Response } from 'undici';
import { guardedFetch, privateNetworkCause } from '../src/security/network-guard';
import { cell } from '../src/db/secret-cells';
import { SecretError } from '../src/security/secrets';
import { BODY_LIMITS, BodyTooLargeError, describeBytes, readBoundedText } from '../src/security/bounded-body';
import { redactor } from '../src/security/redact';
import type { ActivityDeps } from './deps';
import { writeHandedBatch, type EventBatch } from './run-log';
import { startHeartbeat } from './heartbeat';
import { activityLog } from './log';
import { toolCacheFor } from './tool-cache';

export interface ToolCallInput {
  workspace_id: string;
  run_id: string;
  request_id: string | null;
  tool_call: { id: string; name: string; arguments: Record<string, unknown> };
  tool: ToolSpec;
  /** Ask the tool for a preview (X-Dry-Run: true); its answer becomes the approval's `preview`. */
  dry_run?: boolean;
  /** The run's events so far (`tool_call.started` last), stored before the tool is called (patch 'store-with-activity-v1'). */
  store?: EventBatch;
}

export type ToolCallResult =
  /** `cached`: the stored answer of an identical earlier call (tool-cache.ts); the tool was not called. */
  | { ok: true; output: unknown; status?: number; cached?: true }
  | { ok: false; error: { code: string; message: string }; status?: number };

export function createToolActivities(deps: ActivityDeps) {
  const { db, config, secrets, log } = deps;
  // The private-network guard runs in each connection's own lookup; redirects are never followed.
  const fetch = guardedFetch(config.allowPrivateNetwork);
  /** A value that cannot be read here (copied from another row, say) fails the tool call, not the activity: retrying cannot help. */
  function openVault(ws: string, r: VaultRow): string {
    try {
      return secrets.decrypt(r.value_enc, cell.vault(ws, r.name));
    } catch (err) {
      if (err instanceof SecretError) throw new ToolError('vault_secret_unreadable', `Vault secret ${r.name}: ${err.message}`);
      throw err;
    }
  }
  async function resolveVault(ws: string, templates: Record<string, string>, input: ToolCallInput): Promise<{ headers: Record<string, string>; values: string[] }> {
    const names = new Set<string>();
    for (const v of Object.values(templates)) for (const m of v.matchAll(VAULT_REF)) names.add(m[1]!);
    const rows = names.size ? await getVaultSecrets(db, ws, [...names]) : [];
    const values = new Map(rows.map((r) => [r.name, openVault(ws, r)]));
    const missing = [...names].find((n) => !values.has(n));
    if (missing) throw new ToolError('vault_secret_missing', `Vault secret ${missing} does not exist`);
    if (names.size) {
      // Each use of a secret is on the record (API.md 8): which secrets, for which tool call; never the value.
      await appendAudit(db, secrets.audit, {
        workspace_id: ws,
        actor: { key_id: null, name: 'worker', roles: [] },
        action: 'vault.secret_used',
        target: [...names].sort().join(','),
        request_id: input.request_id,
        data: { run_id: input.run_id, tool_call_id: input.tool_call.id, tool: input.tool.name, secrets: [...names].sort(), dry_run: Boolean(input.dry_run) },
      });
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(templates)) headers[k] = v.replace(VAULT_REF, (_, n: string) => values.get(n)!);
    return { headers, values: [...values.values()] };
  }

  /**
   * The executor as the run's session environment makes it: its override of this tool's url and headers,
   * then its variables in both. Variables are filled before vault references are resolved, so a variable
   * may hold a `{{vault.NAME}}` for a header; a resolved secret is never scanned for templates.
   */
  async function inEnvironment(input: ToolCallInput, executor: Extract<ToolSpec['executor'], { type: 'http' }>) {
    const environment = await environmentOfRun(db, input.workspace_id, input.run_id);
    const ex = applyToolOverride(executor, environment ? Object.entries(environment.tools).find(([t]) => t === input.tool.name)?.[1] : undefined);
    const variables = new Map(Object.entries(environment?.variables ?? {}));
    const missing = envRefs([ex.url, ...Object.values(ex.headers ?? {})]).find((n) => !variables.has(n));
    if (missing) {
      throw new ToolError('environment_variable_missing', environment ? `Environment ${environment.name} has no variable ${missing}` : `Variable ${missing} needs a session environment`);
    }
    const headers = Object.fromEntries(Object.entries(ex.headers ?? {}).map(([k, v]) => [k, fillEnv(v, variables)]));
    return { ...ex, url: fillEnv(ex.url, variables), headers };
  }

  /** The session user's token of the tool's connection; null when there is none (API.md 12). */
  async function userToken(input: ToolCallInput): Promise<string | null> {
    const auth = input.tool.auth!;
    const user = await userOfRun(db, input.workspace_id, input.run_id);
    const conn = user ? await getConnection(db, input.workspace_id, auth.connection) : undefined;
    if (!user || !conn) return null;
    try {
      return (await usableToken({ db, secrets, config, log }, input.workspace_id, conn.id, user, scopesFor(auth, conn.scopes))) ?? null;
    } catch (err) {
      // The authorization server is down: like an unreachable tool, retried by the activity's policy.
      throw ApplicationFailure.retryable((err as Error).message, 'authorization_server_unavailable');
    }
  }

  /** An http call, answered from the tool result cache (tool-cache.ts) when the tool has a TTL and an identical call was answered within it. */
  async function cachedHttp(input: ToolCallInput, executor: Extract<ToolSpec['executor'], { type: 'http' }>): Promise<ToolCallResult> {
    const ex = await inEnvironment(input, executor);
    const cache = await toolCacheFor(deps, input, ex);
    const hit = await cache?.lookup();
    if (hit) return hit;
    const result = await callHttp(input, ex);
    if (cache && result.ok) await cache.keep(result.output);
    return result;
  }

  async function callHttp(input: ToolCallInput, ex: Awaited<ReturnType<typeof inEnvironment>>): Promise<ToolCallResult> {
    const ctx = Context.current();
    const { headers, values } = await resolveVault(input.workspace_id, ex.headers, input);
    const bearer = input.tool.auth ? await userToken(input) : undefined;
    if (bearer === null) {
      return { ok: false, error: { code: 'authorization_required', message: `The user's authorization of connection ${input.tool.auth!.connection} is missing or was revoked` } };
    }
    if (bearer) {
      // The user's token replaces any Authorization header of the tool, and is redacted from what it answers.
      for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k];
      headers.authorization = `Bearer ${bearer}`;
      values.push(bearer);
    }
    const redact = redactor(values);
    const method = ex.method ?? 'POST';
    let url: URL;
    try {
      url = new URL(ex.url);
    } catch {
      // Only a filled {{env.NAME}} can make a saved URL invalid.
      return { ok: false, error: { code: 'invalid_tool_url', message: `Tool ${input.tool.name} has no valid URL in this environment` } };
    }
    const hasBody = !['GET', 'DELETE'].includes(method);
    if (!hasBody) for (const [k, v] of Object.entries(input.tool_call.arguments)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    const signal = AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout((ex.timeout_seconds ?? 30) * 1000)]);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        signal,
        headers: {
          ...headers,
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
          'idempotency-key': `${input.run_id}:${input.tool_call.id}${input.dry_run ? ':dry-run' : ''}`,
          ...(input.dry_run ? { 'x-dry-run': 'true' } : {}),
          ...(input.request_id ? { 'x-request-id': input.request_id } : {}),
        },
        body: hasBody ? JSON.stringify(input.tool_call.arguments) : undefined,
      });
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw err;
      const blocked = privateNetworkCause(err);
      if (blocked) return { ok: false, error: { code: 'private_network_blocked', message: blocked.message } };
      const timedOut = signal.aborted;
      const message = timedOut ? `Tool ${input.tool.name} timed out after ${ex.timeout_seconds ?? 30}s` : redact(`Tool ${input.tool.name} unreachable: ${(err as Error).message}`);
      if (input.tool.effect === 'read') throw ApplicationFailure.retryable(message, 'tool_unavailable');
      return { ok: false, error: { code: timedOut ? 'tool_timeout' : 'tool_unreachable', message } };
    }
    let raw: string;
    try {
      raw = await readBoundedText(res, BODY_LIMITS.tool);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      // The same call would get the same answer: an error result the model reads, not a retry.
      return { ok: false, status: res.status, error: { code: 'tool_error', message: `Tool ${input.tool.name} answered more than ${describeBytes(err.limit)}: the answer was not read` } };
    }
    let body: unknown = raw;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    if (res.status >= 300 && res.status < 400) {
      return { ok: false, status: res.status, error: { code: 'tool_redirect', message: `Tool ${input.tool.name} answered with a redirect, which is not followed` } };
    }
    if (res.status >= 500 && input.tool.effect === 'read') {
      throw ApplicationFailure.retryable(`Tool ${input.tool.name} answered ${res.status}`, 'tool_unavailable');
    }
    if (!res.ok) {
      const detail = redact(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 2000);
      return { ok: false, status: res.status, error: { code: 'tool_error', message: `Tool ${input.tool.name} answered ${res.status}: ${detail}` } };
    }
    // An endpoint may echo request headers: resolved secrets must not reach events, history or the model.
    return { ok: true, status: res.status, output: redactDeep(body, redact) };
  }

  /**
   * `load_skill` (API.md 11): the skill's files with their text, read from the workspace at call time. The
   * model can name only the agent's skills (the tool's input schema lists them); the workflow emits
   * `skill.loaded` from this result.
   */
  async function loadSkillCall(input: ToolCallInput): Promise<ToolCallResult> {
    const id = input.tool_call.arguments.skill;
    if (typeof id !== 'string') return { ok: false, error: { code: 'invalid_tool_arguments', message: 'load_skill needs {"skill": "<skill id>"}' } };
    const skill = await loadSkill(db, input.workspace_id, id);
    if (!skill) return { ok: false, error: { code: 'unknown_skill', message: `Skill ${id} does not exist` } };
    return { ok: true, output: skill };
  }

  /**
   * `memory_search` and `memory_write` (API.md 11) on the store the run's agent version names, looked up
   * now (a store deleted since is an error result). A write needs the agent's `write: true` and a write
   * tool (so it went through the write gate); its entry is keyed by the tool call, so a retry stores it once.
   */
  async function memoryCall(input: ToolCallInput): Promise<ToolCallResult> {
    const found = await storeOfRun(db, input.workspace_id, input.run_id);
    if (!found) return { ok: false, error: { code: 'memory_store_missing', message: 'This run has no memory store: the agent names none, or it was deleted' } };
    const { store } = found;
    const deps = { db, config, secrets, log };
    const signal = Context.current().cancellationSignal;
    try {
      if (input.tool.executor.type === 'builtin' && input.tool.executor.name === MEMORY_SEARCH_TOOL) {
        const args = memorySearchSchema.safeParse(input.tool_call.arguments);
        if (!args.success) return invalidArguments(args.error.issues);
        const hits = await searchStore(deps, input.workspace_id, store, args.data, signal);
        return { ok: true, output: { store: store.name, results: hits.data.map((e) => ({ id: e.id, text: e.text, metadata: e.metadata, score: e.score, created_at: e.created_at })) } };
      }
      if (!found.write || input.tool.effect !== 'write') {
        return { ok: false, error: { code: 'memory_read_only', message: `The agent may not write to memory store ${store.name}` } };
      }
      const args = memoryEntryCreateSchema.safeParse(input.tool_call.arguments);
      if (!args.success) return invalidArguments(args.error.issues);
      const entry = await writeEntry(deps, input.workspace_id, store, args.data, { run_id: input.run_id, tool_call_id: input.tool_call.id }, signal);
      return { ok: true, output: { id: entry.id, store: store.name, text: entry.text, metadata: entry.metadata, created_at: entry.created_at } };
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      // A provider that is down is retried by Temporal (both tools are idempotent); the rest is the tool's answer.
      if (isUnavailable(err.code)) throw ApplicationFailure.retryable(err.message, 'tool_unavailable');
      return { ok: false, error: { code: err.code, message: err.message } };
    }
  }

  async function runTool(input: ToolCallInput): Promise<ToolCallResult> {
    try {
      const ex = input.tool.executor;
      if (ex.type === 'builtin' && ex.name === LOAD_SKILL_TOOL) return await loadSkillCall(input);
      if (ex.type === 'builtin' && MEMORY_TOOLS.includes(ex.name)) return await memoryCall(input);
      if (ex.type === 'builtin') return runBuiltin(ex.name, input.tool_call.arguments);
      if (ex.type === 'http') return await cachedHttp(input, ex);
      return { ok: false, error: { code: 'unsupported_executor', message: `Executor ${ex.type} cannot run on the server` } };
    } catch (err) {
      if (err instanceof ToolError) return { ok: false, error: { code: err.code, message: err.message } };
      throw err;
    }
  }

  return {
    async executeTool(input: ToolCallInput): Promise<ToolCallResult> {
      const callLog = activityLog(log, { run_id: input.run_id, workspace_id: input.workspace_id, request_id: input.request_id }).child({
        tool: input.tool.name,
        tool_call_id: input.tool_call.id,
        effect: input.tool.effect,
        dry_run: Boolean(input.dry_run),
      });
      if (input.store) await writeHandedBatch(deps, input.run_id, input.store);
      const started = Date.now();
      const stop = startHeartbeat();
      try {
        const result = await runTool(input);
        // Arguments and output are content: the log gets the outcome only.
        callLog.info({ ms: Date.now() - started, ok: result.ok, status: result.status ?? null, error_code: result.ok ? null : result.error.code, cached: result.ok && Boolean(result.cached) }, 'tool call completed');
        return result;
      } catch (err) {
        callLog.warn({ ms: Date.now() - started, error: (err as { type?: string })?.type ?? (err as Error)?.name }, 'tool call failed');
        throw err;
      } finally {
        stop();
      }
    },
  };
}

function redactDeep(value: unknown, redact: (s: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [redact(k), redactDeep(v, redact)]));
  }
  return value;
}

class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalidArguments = (issues: { path: PropertyKey[]; message: string }[]): ToolCallResult => ({
  ok: false,
  error: { code: 'invalid_tool_arguments', message: `${issues[0]!.path.map(String).join('.') || 'arguments'} ${issues[0]!.message}` },
});

function runBuiltin(name: string, args: Record<string, unknown>): ToolCallResult {
  switch (name) {
    case 'current_time':
      return { ok: true, output: { now: new Date().toISOString() } };
    case 'echo':
      return { ok: true, output: args };
    default:
      return { ok: false, error: { code: 'unknown_builtin', message: `No built-in tool ${name}` } };
  }
}
