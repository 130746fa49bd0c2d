// `ap approvals list | get | approve | deny`: the approvals inbox over /v1/approvals (API.md 4).
import type { Command } from 'commander';
import { APPROVAL_STATUSES, type ApprovalRecord } from '../../domain/approval';
import { abbreviate, compact, fields, out, table, time } from './format';
import { ApiClient } from './http';

type Approval = ApprovalRecord & { object: 'approval'; run_id: string; session_id: string; agent_id: string };

function parseArguments(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new Error(`--arguments is not valid JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('--arguments must be a JSON object, e.g. \'{"title":"x"}\'');
  return value as Record<string, unknown>;
}

function printApproval(a: Approval): void {
  out(
    fields([
      ['id', a.id],
      ['status', a.status],
      ['run', a.run_id],
      ['tool', `${a.tool_call.name} (${a.tool_call.id}, ${a.effect})`],
      ['arguments', compact(a.tool_call.arguments)],
      ['rule', a.policy_rule_id],
      ['reason', a.reason],
      ['requested_at', time(a.requested_at)],
      ['expires_at', time(a.expires_at)],
      ['decided_at', time(a.decided_at)],
      ['decided_by', a.decided_by?.name ?? ''],
      ['comment', a.comment ?? ''],
    ]),
  );
}

const decided = (a: Approval, json: boolean | undefined) =>
  json ? out(JSON.stringify(a, null, 2)) : out(`${a.id} ${a.status} (run ${a.run_id}, ${a.tool_call.name})`);

export function approvalsCommands(program: Command): void {
  const approvals = program.command('approvals').description('the approvals inbox (client of the HTTP API: AP_URL, AP_API_KEY)');

  approvals
    .command('list')
    .description('list approvals, pending ones by default')
    .option('--status <status>', `${APPROVAL_STATUSES.join(', ')}, or all`, 'pending')
    .option('--run <run>', 'only this run')
    .option('--agent <name>', 'only this agent (name or id)')
    .option('--limit <n>', '1-100', '20')
    .option('--after <cursor>', 'the next_cursor of a previous page')
    .option('--json', 'print the whole list object {object, data, has_more, next_cursor}')
    .action(async (opts: { status: string; run?: string; agent?: string; limit: string; after?: string; json?: boolean }) => {
      const query = { status: opts.status === 'all' ? undefined : opts.status, run_id: opts.run, agent: opts.agent, limit: opts.limit, after: opts.after };
      const list = await new ApiClient().get<{ data: Approval[]; has_more: boolean; next_cursor: string | null }>('/v1/approvals', query);
      if (opts.json) return out(JSON.stringify(list, null, 2));
      if (!list.data.length) return out(opts.status === 'all' ? 'No approvals.' : `No ${opts.status} approvals.`);
      const withStatus = opts.status !== 'pending';
      const rows = list.data.map((a) => [
        a.id,
        ...(withStatus ? [a.status] : []),
        a.run_id,
        a.tool_call.name,
        abbreviate(compact(a.tool_call.arguments), 40),
        a.policy_rule_id,
        abbreviate(a.reason ?? '', 40),
        time(a.requested_at),
      ]);
      out(table(['ID', ...(withStatus ? ['STATUS'] : []), 'RUN', 'TOOL', 'ARGUMENTS', 'RULE', 'REASON', 'REQUESTED'], rows));
      if (list.has_more) process.stderr.write(`More: ap approvals list --after ${list.next_cursor}\n`);
    });

  approvals
    .command('get')
    .description('show an approval')
    .argument('<id>', 'approval id (apr_...)')
    .option('--json', 'print the approval object as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const a = await new ApiClient().get<Approval>(`/v1/approvals/${encodeURIComponent(id)}`);
      if (opts.json) out(JSON.stringify(a, null, 2));
      else printApproval(a);
    });

  approvals
    .command('approve')
    .description('approve a pending tool call (needs the approver or admin role, and not the key that started the run)')
    .argument('<id>', 'approval id (apr_...)')
    .option('--comment <text>', 'a note kept with the decision')
    .option('--arguments <json>', 'replace the call\'s arguments (a JSON object, validated against the tool\'s schema)')
    .option('--json', 'print the approval object as JSON')
    .action(async (id: string, opts: { comment?: string; arguments?: string; json?: boolean }) => {
      const body = { comment: opts.comment, arguments: parseArguments(opts.arguments) };
      decided(await new ApiClient().post<Approval>(`/v1/approvals/${encodeURIComponent(id)}/approve`, body), opts.json);
    });

  approvals
    .command('deny')
    .description('deny a pending tool call; the model receives the reason as the tool result')
    .argument('<id>', 'approval id (apr_...)')
    .requiredOption('--reason <text>', 'why (required: the model receives it)')
    .option('--comment <text>', 'a note kept with the decision')
    .option('--json', 'print the approval object as JSON')
    .action(async (id: string, opts: { reason: string; comment?: string; json?: boolean }) => {
      if (!opts.reason.trim()) throw new Error('--reason must not be empty: the model receives it as the tool result');
      decided(await new ApiClient().post<Approval>(`/v1/approvals/${encodeURIComponent(id)}/deny`, { reason: opts.reason, comment: opts.comment }), opts.json);
    });
}
