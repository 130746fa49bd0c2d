// `ap replay`: re-executes recorded histories (by run id through the API, from JSON files, or every run
// since a date) against this build's workflow code; one verdict line per run; exit 1 on any divergence
// or any write-tool call that ran without an allow decision or approval.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { replayHistories, type RecordedHistory } from '../services/replay';
import { masterKeys } from './runtime';

function client(): { url: string; key: string } {
  const cfg = loadConfig();
  if (!cfg.client.apiKey) throw new Error('Set AP_API_KEY (an auditor or admin key) to replay runs through the API');
  return { url: (cfg.client.url ?? `http://localhost:${cfg.port}`).replace(/\/+$/, ''), key: cfg.client.apiKey };
}

async function get(pathname: string): Promise<Record<string, unknown>> {
  const { url, key } = client();
  const res = await fetch(`${url}${pathname}`, { headers: { authorization: `Bearer ${key}` } });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${pathname}: ${res.status} ${JSON.stringify(body.error ?? body)}`);
  return body;
}

/** Keys for histories exported encrypted: AP_MASTER_KEY (+ previous), or the dev key file if there is one. */
function replayKeys(): Buffer[] {
  const cfg = loadConfig();
  if (!cfg.masterKey && !fs.existsSync(path.join(cfg.dataDir, 'master.key'))) return [];
  return masterKeys(cfg);
}

/** `7d`, `12h`, `30m` or an ISO date. */
export function parseSince(since: string, now = Date.now()): string {
  const m = since.match(/^(\d+)([dhm])$/);
  if (m) return new Date(now - Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']).toISOString();
  const d = new Date(since);
  if (Number.isNaN(d.getTime())) throw new Error(`--since must look like 7d, 12h, 30m or an ISO date, not ${since}`);
  return d.toISOString();
}

async function runIdsSince(since: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await get(`/v1/runs?limit=100&created_after=${encodeURIComponent(since)}${after ? `&after=${after}` : ''}`);
    ids.push(...(page.data as { id: string }[]).map((r) => r.id));
    if (!page.has_more) return ids;
    after = String(page.next_cursor);
  }
}

export function replayCommand(program: Command): void {
  program
    .command('replay')
    .description('re-execute recorded histories against this code; prints one verdict per run, exits 1 if any diverges')
    .argument('[runs...]', 'run ids to fetch through the API (AP_URL, AP_API_KEY)')
    .option('--file <files...>', 'history JSON files (as GET /v1/runs/:id/history or `temporal workflow show --output json` print them)')
    .option('--all', 'every run created since --since')
    .option('--since <when>', 'with --all: 7d, 12h, 30m or an ISO date', '7d')
    .option('--workflows <path>', 'the workflow code to replay against (default: this build)')
    .action(async (runs: string[], opts: { file?: string[]; all?: boolean; since: string; workflows?: string }) => {
      const histories: RecordedHistory[] = [];
      for (const f of opts.file ?? []) histories.push({ id: path.basename(f), json: JSON.parse(fs.readFileSync(f, 'utf8')) as RecordedHistory['json'] });
      const ids = [...runs, ...(opts.all ? await runIdsSince(parseSince(opts.since)) : [])];
      for (const id of ids) histories.push({ id, json: (await get(`/v1/runs/${id}/history`)) as RecordedHistory['json'] });
      if (histories.length === 0) throw new Error('Nothing to replay: give run ids, --file or --all');
      process.stdout.write(`Replaying ${histories.length} history(ies)...\n`);
      const verdicts = await replayHistories(histories, opts.workflows ? path.resolve(opts.workflows) : undefined, replayKeys());
      let bad = 0;
      for (const v of verdicts) {
        process.stdout.write(`${v.id}\t${v.verdict}${v.divergence ? `\t${v.divergence}` : ''}\n`);
        for (const w of v.unapproved_writes) process.stdout.write(`${v.id}\tunapproved-write\ttool_call=${w.tool_call_id} tool=${w.tool}\n`);
        if (v.verdict !== 'ok' || v.unapproved_writes.length) bad++;
      }
      process.stdout.write(`${verdicts.length - bad} ok, ${bad} with findings\n`);
      process.exitCode = bad ? 1 : 0;
    });
}
