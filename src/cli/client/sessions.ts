// `ap sessions list | get`: the same as GET /v1/sessions and /v1/sessions/:id (API.md 3).
import type { Command } from 'commander';
import type { SessionObject } from '../../domain/api-objects';
import { abbreviate, compact, fields, out, table, time } from './format';
import { ApiClient } from './http';
import { followSessionEvents } from './events';
import { EventPrinter } from './render';

type List<T> = { data: T[]; has_more: boolean; next_cursor: string | null };

export function sessionsCommands(program: Command): void {
  const sessions = program.command('sessions').description('sessions (client of the HTTP API: AP_URL, AP_API_KEY)');

  sessions
    .command('list')
    .description('list sessions')
    .option('--agent <name>', 'agent name or id')
    .option('--user-reference <ref>', 'only sessions of this user_reference')
    .option('--status <status>', 'idle, running or waiting')
    .option('--limit <n>', '1-100', '20')
    .option('--after <cursor>', 'the next_cursor of a previous page')
    .option('--json', 'print the whole list object {object, data, has_more, next_cursor}')
    .action(async (opts: { agent?: string; userReference?: string; status?: string; limit: string; after?: string; json?: boolean }) => {
      const query = { agent: opts.agent, user_reference: opts.userReference, status: opts.status, limit: opts.limit, after: opts.after };
      const list = await new ApiClient().get<List<SessionObject>>('/v1/sessions', query);
      if (opts.json) return out(JSON.stringify(list, null, 2));
      if (!list.data.length) return out('No sessions.');
      const rows = list.data.map((s) => [s.id, s.status, `${s.agent_id} v${s.agent_version}`, abbreviate(s.title ?? '', 40), s.user_reference ?? '', time(s.created_at)]);
      out(table(['ID', 'STATUS', 'AGENT', 'TITLE', 'USER', 'CREATED'], rows));
      if (list.has_more) process.stderr.write(`More: ap sessions list --after ${list.next_cursor}\n`);
    });

  sessions
    .command('get')
    .description('show a session')
    .argument('<session>', 'session id')
    .option('--json', 'print the session object as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const s = await new ApiClient().get<SessionObject>(`/v1/sessions/${encodeURIComponent(id)}`);
      if (opts.json) return out(JSON.stringify(s, null, 2));
      out(
        fields([
          ['id', s.id],
          ['status', s.status],
          ['if_busy', s.if_busy],
          ['agent', `${s.agent_id} (version ${s.agent_version})`],
          ['title', s.title ?? ''],
          ['session_reference', s.session_reference ?? ''],
          ['user_reference', s.user_reference ?? ''],
          ['environment', s.environment_id ?? ''],
          ['metadata', Object.keys(s.metadata ?? {}).length ? compact(s.metadata) : ''],
          ['created_at', time(s.created_at)],
          ['updated_at', time(s.updated_at)],
        ]),
      );
    });

  sessions
    .command('watch')
    .description("follow a session's log live across its runs (API.md 16), until interrupted")
    .argument('<session>', 'session id')
    .option('--replay', 'print the whole log first, from its first event')
    .option('--json', 'print one JSON object per line: stored events (with seq and session_seq) and, unless --no-deltas, message.delta frames')
    .option('--no-deltas', 'leave out token deltas (the text still appears with message.completed)')
    .addHelpText('after', '\nA dropped connection is resumed with Last-Event-ID: every stored event is printed once, in order.\nEach run of the session starts with a [run <id>] line.')
    .action(async (id: string, opts: { replay?: boolean; json?: boolean; deltas: boolean }) => {
      let runId: string | undefined;
      let printer = new EventPrinter();
      for await (const { item, raw } of followSessionEvents(new ApiClient(), id, { deltas: opts.deltas, replay: Boolean(opts.replay) })) {
        if (opts.json) {
          out(raw);
          continue;
        }
        if (item.run_id !== runId) {
          runId = item.run_id;
          printer = new EventPrinter();
          printer.line(`[run ${runId}]`);
        }
        printer.print(item);
      }
    });
}
