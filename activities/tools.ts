// Tool execution: http tools (with {{vault.NAME}} resolved here, at call time) and built-ins.
// The result goes back to the model; secrets never leave this activity.
import { ApplicationFailure, Context } from '@temporalio/activity';
import * as catalog from '../src/db/catalog';
import { appendAudit } from '../src/db/audit';
import { VAULT_REF } from '../src/domain/vault';
import type { ToolSpec } from '../src/domain/tool';
import { assertPublicUrl, PrivateNetworkError } from '../src/security/network-guard';
import type { ActivityDeps } from './deps';
import { startHeartbeat } from './heartbeat';
import { activityLog } from './log';

const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface ToolCallInput {
  workspace_id: string;
  run_id: string;
  request_id: string | null;
  tool_call: { id: string; name: string; arguments: Record<string, unknown> };
  tool: ToolSpec;
  /** Ask the tool for a preview (X-Dry-Run: true); its answer becomes the approval's `preview`. */
  dry_run?: boolean;
}

export type ToolCallResult =
  | { ok: true; output: unknown; status?: number }
  | { ok: false; error: { code: string; message: string }; status?: number };

export function createToolActivities({ db, config, secrets, log }: ActivityDeps) {
  async function resolveVault(ws: string, templates: Record<string, string>, input: ToolCallInput): Promise<{ headers: Record<string, string>; values: string[] }> {
    const names = new Set<string>();
    for (const v of Object.values(templates)) for (const m of v.matchAll(VAULT_REF)) names.add(m[1]!);
    const rows = names.size ? await catalog.getVaultSecrets(db, ws, [...names]) : [];
    const values = new Map(rows.map((r) => [r.name, secrets.decrypt(r.value_enc)]));
    const missing = [...names].find((n) => !values.has(n));
    if (missing) throw new ToolError('vault_secret_missing', `Vault secret ${missing} does not exist`);
    if (names.size) {
      // Each use of a secret is on the record (API.md 8): which secrets, for which tool call; never the value.
      await appendAudit(db, {
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

  async function callHttp(input: ToolCallInput): Promise<ToolCallResult> {
    const ex = input.tool.executor;
    if (ex.type !== 'http') throw new Error('not an http tool');
    const ctx = Context.current();
    const { headers, values } = await resolveVault(input.workspace_id, ex.headers ?? {}, input);
    const redact = redactor(values);
    try {
      await assertPublicUrl(ex.url, config.allowPrivateNetwork);
    } catch (err) {
      if (err instanceof PrivateNetworkError) return { ok: false, error: { code: 'private_network_blocked', message: err.message } };
      throw err;
    }
    const method = ex.method ?? 'POST';
    const url = new URL(ex.url);
    const hasBody = !['GET', 'DELETE'].includes(method);
    if (!hasBody) for (const [k, v] of Object.entries(input.tool_call.arguments)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    const signal = AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout((ex.timeout_seconds ?? 30) * 1000)]);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        redirect: 'manual',
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
      const timedOut = signal.aborted;
      const message = timedOut ? `Tool ${input.tool.name} timed out after ${ex.timeout_seconds ?? 30}s` : redact(`Tool ${input.tool.name} unreachable: ${(err as Error).message}`);
      if (input.tool.effect === 'read') throw ApplicationFailure.retryable(message, 'tool_unavailable');
      return { ok: false, error: { code: timedOut ? 'tool_timeout' : 'tool_unreachable', message } };
    }
    const raw = Buffer.from(await res.arrayBuffer()).subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
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

  async function runTool(input: ToolCallInput): Promise<ToolCallResult> {
    try {
      const ex = input.tool.executor;
      if (ex.type === 'builtin') return runBuiltin(ex.name, input.tool_call.arguments);
      if (ex.type === 'http') return await callHttp(input);
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
      const started = Date.now();
      const stop = startHeartbeat();
      try {
        const result = await runTool(input);
        // Arguments and output are content: the log gets the outcome only.
        callLog.info({ ms: Date.now() - started, ok: result.ok, status: result.status ?? null, error_code: result.ok ? null : result.error.code }, 'tool call completed');
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

/** Replaces each secret, also in its JSON-escaped and URL-encoded forms. */
export function redactor(secrets: string[]): (s: string) => string {
  const forms = secrets
    .filter((v) => v.length >= 4)
    .flatMap((v) => [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)])
    .sort((a, b) => b.length - a.length);
  return (s) => forms.reduce((acc, f) => acc.split(f).join('[redacted]'), s);
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
