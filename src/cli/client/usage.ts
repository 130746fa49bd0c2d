// `ap usage`: the same as GET /v1/usage (API.md 16), a table of runs, tokens, cost, tool calls,
// approvals and failures by day, agent or model, with the window's total on the last line.
import type { Command } from 'commander';
import type { UsageReport, UsageRowObject } from '../../domain/api-objects';
import { USAGE_GROUPS } from '../../domain/usage-report';
import { out, table } from './format';
import { ApiClient } from './http';

const usd = (n: number): string => `$${n.toFixed(4)}`;
const percent = (r: number): string => `${(r * 100).toFixed(1)}%`;

/** One line of the table: the figures of a row, or of the total. */
const cells = (r: Omit<UsageRowObject, 'object' | 'key' | 'label'>): string[] => [
  String(r.runs),
  `${r.failed_runs} (${percent(r.failure_rate)})`,
  String(r.input_tokens),
  String(r.output_tokens),
  usd(r.cost_usd),
  String(r.tool_calls),
  `${r.approvals.requested}/${r.approvals.approved}/${r.approvals.denied}/${r.approvals.expired}`,
];

export function usageCommands(program: Command): void {
  program
    .command('usage')
    .description("the workspace's usage at a glance (client of the HTTP API: AP_URL, AP_API_KEY)")
    .option('--group-by <group>', USAGE_GROUPS.join(', '), 'day')
    .option('--from <date>', 'YYYY-MM-DD or an RFC 3339 timestamp, inclusive (default: 30 days back, today included)')
    .option('--to <date>', 'YYYY-MM-DD (that day included) or an RFC 3339 timestamp, exclusive (default: now)')
    .option('--json', 'print the API object {object, data, has_more, next_cursor, group_by, from, to, total}')
    .addHelpText('after', '\nAPPROVALS is requested/approved/denied/expired. Days are UTC; `--group-by day` lists every day of the window.')
    .action(async (opts: { groupBy: string; from?: string; to?: string; json?: boolean }) => {
      const report = await new ApiClient().get<UsageReport>('/v1/usage', { group_by: opts.groupBy, from: opts.from, to: opts.to });
      if (opts.json) return out(JSON.stringify(report, null, 2));
      const head = { day: 'DAY', agent: 'AGENT', model: 'MODEL' }[report.group_by];
      const rows = report.data.map((r) => [r.label, ...cells(r)]);
      out(table([head, 'RUNS', 'FAILED', 'INPUT', 'OUTPUT', 'COST', 'TOOL CALLS', 'APPROVALS'], [...rows, ['TOTAL', ...cells(report.total)]]));
      process.stderr.write(`Runs created from ${report.from} to ${report.to}\n`);
    });
}
