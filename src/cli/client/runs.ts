// `ap runs create | list | get | cancel | watch`: thin commands over /v1/runs and its event stream.
import type { Command } from 'commander';
import { TERMINAL_EVENTS } from '../../domain/event';
import { isPaused } from '../../domain/run';
import { isStored, followEvents, type Received } from './events';
import { abbreviate, compact, errorLine, fields, out, table, time, usageLine } from './format';
import { ApiClient, type Json } from './http';
import { EventPrinter, StatusLine } from './render';

/** Exit codes of `runs watch` and `runs create --wait`, by the run's status when the command stops. */
export const EXIT_BY_STATUS: Record<string, number> = { completed: 0, failed: 1, canceled: 2, waiting_approval: 3, waiting_auth: 3, tool_required: 3 };

const exitHelp = (pausedWhen: string) => `
Exit codes:
  0  the run completed
  1  the run failed (or the command failed: API error, unreachable API)
  2  the run was canceled
  3  the run is paused: waiting for an approval or for a client tool result
     (${pausedWhen})`;

interface Run extends Json {
  id: string;
  status: string;
}

/**
 * Follows the run until it ends or, with `untilPaused`, until it waits for a person or a client tool,
 * and returns its status then. A past pause seen in the replayed history is checked against the run's
 * current status (events and status are stored together), so only a pause that still holds stops it.
 */
async function follow(client: ApiClient, runId: string, opts: { deltas: boolean; untilPaused: boolean; onItem: (r: Received) => void }): Promise<string> {
  const stream = followEvents(client, runId, {
    deltas: opts.deltas,
    onInterrupted: (reason, seq) => void process.stderr.write(`Event stream interrupted (${reason}); resuming after event ${seq}\n`),
  });
  for await (const received of stream) {
    opts.onItem(received);
    const { item } = received;
    if (!isStored(item)) continue;
    if (TERMINAL_EVENTS.includes(item.type)) return item.type.slice('run.'.length);
    if (opts.untilPaused && item.type === 'run.status_changed' && isPaused(String(item.data.to))) {
      const run = await client.get<Run>(`/v1/runs/${encodeURIComponent(runId)}`);
      if (isPaused(run.status)) return run.status;
    }
  }
  return (await client.get<Run>(`/v1/runs/${encodeURIComponent(runId)}`)).status;
}

function printRun(run: Json): void {
  const u = run.usage as Parameters<typeof usageLine>[0];
  out(
    fields([
      ['id', String(run.id)],
      ['status', String(run.status)],
      ['agent', `${String(run.agent_id)} (version ${String(run.agent_version)})`],
      ['session', String(run.session_id)],
      ['created_at', time(run.created_at)],
      ['started_at', time(run.started_at)],
      ['completed_at', time(run.completed_at)],
      ['usage', usageLine(u)],
      ['error', errorLine(run.error)],
      ['cancel_reason', String(run.cancel_reason ?? '')],
      ['request_id', String(run.request_id ?? '')],
    ]),
  );
  for (const a of (run.pending_approvals ?? []) as { id: string; tool_call: { name: string; arguments: unknown } }[]) {
    out(`pending approval  ${a.id}: ${a.tool_call.name} ${abbreviate(compact(a.tool_call.arguments), 120)}`);
  }
  for (const t of (run.pending_tool_calls ?? []) as { id: string; name: string; arguments: unknown }[]) {
    out(`pending tool call  ${t.id}: ${t.name} ${abbreviate(compact(t.arguments), 120)}`);
  }
  for (const a of (run.pending_authorizations ?? []) as { name: string; connection: string; authorization_url: string }[]) {
    out(`pending authorization  ${a.connection} (for ${a.name}): ${a.authorization_url}`);
  }
  if (run.output_text) out(`\n${String(run.output_text)}`);
}

export function runsCommands(program: Command): void {
  const runs = program.command('runs').description('runs (client of the HTTP API: AP_URL, AP_API_KEY)');

  runs
    .command('create')
    .description('start a run of an agent in a new session')
    .requiredOption('--agent <name>', 'agent name or id')
    .option('--wait', 'wait until the run ends or pauses (progress on stderr), then print it')
    .option('-q, --quiet', 'no progress line on stderr')
    .option('--json', 'print the run object as JSON')
    .argument('<text>', 'the user message')
    .addHelpText('after', exitHelp('only with --wait; without --wait the exit code is 0 once the run is created'))
    .action(async (text: string, opts: { agent: string; wait?: boolean; quiet?: boolean; json?: boolean }) => {
      const client = new ApiClient();
      let run = await client.post<Run>('/v1/runs', { agent: opts.agent, input: text });
      if (opts.wait) {
        const progress = opts.quiet ? undefined : new StatusLine(run.id);
        try {
          await follow(client, run.id, { deltas: false, untilPaused: true, onItem: ({ item }) => isStored(item) && progress?.update(item) });
        } finally {
          progress?.done();
        }
        run = await client.get<Run>(`/v1/runs/${encodeURIComponent(run.id)}`);
        process.exitCode = EXIT_BY_STATUS[run.status] ?? 1;
      }
      if (opts.json) out(JSON.stringify(run, null, 2));
      else if (opts.wait) printRun(run);
      else out(`${run.id} ${run.status}\nFollow it with: ap runs watch ${run.id}`);
    });

  runs
    .command('list')
    .description('list runs, newest first')
    .option('--status <status>', 'queued, running, tool_required, waiting_approval, waiting_auth, completed, failed or canceled')
    .option('--agent <name>', 'agent name or id')
    .option('--limit <n>', '1-100', '20')
    .option('--after <cursor>', 'the next_cursor of a previous page')
    .option('--json', 'print the whole list object {object, data, has_more, next_cursor}')
    .action(async (opts: { status?: string; agent?: string; limit: string; after?: string; json?: boolean }) => {
      const query = { status: opts.status, agent: opts.agent, limit: opts.limit, after: opts.after };
      const list = await new ApiClient().get<{ data: Run[]; has_more: boolean; next_cursor: string | null }>('/v1/runs', query);
      if (opts.json) return out(JSON.stringify(list, null, 2));
      if (!list.data.length) return out('No runs.');
      const rows = list.data.map((r) => [
        r.id,
        r.status,
        String(r.agent_id),
        time(r.created_at),
        abbreviate(r.error ? errorLine(r.error) : String(r.output_text ?? ''), 60),
      ]);
      out(table(['ID', 'STATUS', 'AGENT', 'CREATED', 'OUTPUT / ERROR'], rows));
      if (list.has_more) process.stderr.write(`More: ap runs list --after ${list.next_cursor}\n`);
    });

  runs
    .command('get')
    .description('show a run')
    .argument('<run>', 'run id')
    .option('--json', 'print the run object as JSON')
    .action(async (runId: string, opts: { json?: boolean }) => {
      const run = await new ApiClient().get<Run>(`/v1/runs/${encodeURIComponent(runId)}`);
      if (opts.json) out(JSON.stringify(run, null, 2));
      else printRun(run);
    });

  runs
    .command('cancel')
    .description('cancel an active run (its pending approvals are canceled too)')
    .argument('<run>', 'run id')
    .option('--reason <text>', 'why (shown on the run as cancel_reason, and in the audit log)')
    .option('--json', 'print the run object as JSON')
    .action(async (runId: string, opts: { reason?: string; json?: boolean }) => {
      const run = await new ApiClient().post<Run>(`/v1/runs/${encodeURIComponent(runId)}/cancel`, opts.reason ? { reason: opts.reason } : {});
      if (opts.json) out(JSON.stringify(run, null, 2));
      else out(`${run.id}: cancel requested (status ${run.status}); \`ap runs watch ${run.id}\` shows when it ends`);
    });

  runs
    .command('watch')
    .description("follow a run's events live, from its first event, and exit with its outcome")
    .argument('<run>', 'run id')
    .option('--json', 'print one JSON object per line: stored events (with seq) and, unless --no-deltas, message.delta frames (no seq)')
    .option('--no-deltas', 'leave out token deltas (the text still appears with message.completed)')
    .option('--until-paused', 'exit 3 as soon as the run waits for an approval or a client tool result')
    .addHelpText(
      'after',
      `${exitHelp('only with --until-paused; without it the watch follows the run through its pauses')}\n\nA dropped connection is resumed with Last-Event-ID: every stored event is printed once, in order.\nWhen a model call is retried, a [message.retried] line marks the text shown before it as discarded.`,
    )
    .action(async (runId: string, opts: { json?: boolean; deltas: boolean; untilPaused?: boolean }) => {
      const client = new ApiClient();
      const printer = new EventPrinter();
      const status = await follow(client, runId, {
        deltas: opts.deltas,
        untilPaused: Boolean(opts.untilPaused),
        onItem: ({ item, raw }) => (opts.json ? out(raw) : printer.print(item)),
      });
      if (!opts.json && isPaused(status)) printer.line(`[paused] ${runId} is ${status}`);
      process.exitCode = EXIT_BY_STATUS[status] ?? 1;
    });
}
