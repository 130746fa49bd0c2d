// `ap agents list | get | export | import`: agents over /v1/agents, and bundles over
// /v1/agents/:id/export and /v1/imports (API.md 16), so that an agent moves between workspaces as a file.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { AgentObject } from '../../domain/api-objects';
import type { ImportResult } from '../../domain/agent-bundle';
import { fields, out, table, time } from './format';
import { ApiClient } from './http';

type List<T> = { data: T[]; has_more: boolean; next_cursor: string | null };

const model = (a: AgentObject) => `${a.model.card}${a.model.model ? `/${a.model.model}` : ''}`;

function printAgent(a: AgentObject): void {
  out(
    fields([
      ['id', a.id],
      ['name', a.name],
      ['version', String(a.version)],
      ['description', a.description ?? ''],
      ['model', [model(a), ...(a.model.fallbacks ?? []).map((f) => `${f.card}${f.model ? `/${f.model}` : ''}`)].join(', then ')],
      ['tools', a.tools.join(', ')],
      ['skills', (a.skills ?? []).join(', ')],
      ['memory', a.memory ? `${a.memory.store}${a.memory.write ? ' (write)' : ''}` : ''],
      ['policy', a.policy.rules.map((r) => `${r.id}: ${r.action}`).join('; ')],
      ['enabled', String(a.enabled)],
      ['archived', a.archived ? 'true' : ''],
      ['updated_at', time(a.updated_at)],
    ]),
  );
  if (a.instructions) out(`\n${a.instructions}`);
}

/** The bundle file (`-` for stdin), parsed: the API validates its shape. */
function readBundle(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); give a file written by \`ap agents export\``);
  }
}

export function agentsCommands(program: Command): void {
  const agents = program.command('agents').description('agents, and their export and import (client of the HTTP API: AP_URL, AP_API_KEY)');

  agents
    .command('list')
    .description('list the workspace\'s agents (archived ones are left out)')
    .option('--limit <n>', '1-100', '20')
    .option('--after <cursor>', 'the next_cursor of a previous page')
    .option('--json', 'print the whole list object {object, data, has_more, next_cursor}')
    .action(async (opts: { limit: string; after?: string; json?: boolean }) => {
      const list = await new ApiClient().get<List<AgentObject>>('/v1/agents', { limit: opts.limit, after: opts.after });
      if (opts.json) return out(JSON.stringify(list, null, 2));
      if (!list.data.length) return out('No agents.');
      const rows = list.data.map((a) => [a.id, a.name, String(a.version), model(a), a.tools.join(',') || '-', a.enabled ? 'yes' : 'no', time(a.updated_at)]);
      out(table(['ID', 'NAME', 'VERSION', 'MODEL', 'TOOLS', 'ENABLED', 'UPDATED'], rows));
      if (list.has_more) process.stderr.write(`More: ap agents list --after ${list.next_cursor}\n`);
    });

  agents
    .command('get')
    .description('show an agent (its current version, or --version N)')
    .argument('<agent>', 'agent name or id')
    .option('--version <n>', 'an older version')
    .option('--json', 'print the agent object as JSON')
    .action(async (agent: string, opts: { version?: string; json?: boolean }) => {
      const at = opts.version ? `/versions/${encodeURIComponent(opts.version)}` : '';
      const a = await new ApiClient().get<AgentObject>(`/v1/agents/${encodeURIComponent(agent)}${at}`);
      if (opts.json) out(JSON.stringify(a, null, 2));
      else printAgent(a);
    });

  agents
    .command('export')
    .description('print the agent\'s bundle: the agent, its tools, and the names of the model cards and vault secrets they need (never a key or a secret)')
    .argument('<agent>', 'agent name or id')
    .option('--version <n>', 'an older version (default: the current one)')
    .option('--json', 'the bundle is JSON either way (accepted like every client command)')
    .addHelpText('after', '\nExample: ap agents export support > support.json')
    .action(async (agent: string, opts: { version?: string }) => {
      const bundle = await new ApiClient().get(`/v1/agents/${encodeURIComponent(agent)}/export`, { version: opts.version });
      out(JSON.stringify(bundle, null, 2));
    });

  agents
    .command('import')
    .description('create or update, by name, the tools and the agent of a bundle (an admin key); --dry-run only shows what would change')
    .argument('<file>', 'a bundle written by `ap agents export`, or - for stdin')
    .option('--dry-run', 'show the changes without storing anything')
    .option('--json', 'print the import result {object, applied, changes} as JSON')
    .addHelpText('after', '\nThe model cards and vault secrets the bundle names must exist in this workspace first; the error lists those missing.')
    .action(async (file: string, opts: { dryRun?: boolean; json?: boolean }) => {
      const result = await new ApiClient().post<ImportResult>('/v1/imports', { bundle: readBundle(file), dry_run: Boolean(opts.dryRun) });
      if (opts.json) return out(JSON.stringify(result, null, 2));
      const rows = result.changes.map((c) => [c.action, c.kind, c.name, c.version === undefined ? '' : `version ${c.version}`]);
      out(table(['ACTION', 'KIND', 'NAME', ''], rows));
      out(result.applied ? 'Imported.' : 'Dry run: nothing was stored.');
    });
}
