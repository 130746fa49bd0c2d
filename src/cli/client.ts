// Client commands: talk to the HTTP API (AP_URL, AP_API_KEY) like any other client.
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { decodeSse } from '../providers/sse-decoder';

const EXIT_BY_STATUS: Record<string, number> = { completed: 0, failed: 1, canceled: 2 };

function endpoint(): { url: string; key: string } {
  const cfg = loadConfig();
  const key = cfg.client.apiKey;
  if (!key) throw new Error('Set AP_API_KEY to an API key');
  return { url: (cfg.client.url ?? `http://localhost:${cfg.port}`).replace(/\/+$/, ''), key };
}

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const { url, key } = endpoint();
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) {
    const e = json.error as { code?: string; message?: string } | undefined;
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? ''}`);
  }
  return json;
}

const out = (line: string): void => void process.stdout.write(`${line}\n`);

async function watch(runId: string, json: boolean): Promise<number> {
  const { url, key } = endpoint();
  let last = 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const res = await fetch(`${url}/v1/runs/${runId}/events?include=deltas`, {
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(last ? { 'last-event-id': String(last) } : {}) },
      });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      for await (const msg of decodeSse(res.body)) {
        if (msg.id) last = Number(msg.id);
        const ev = JSON.parse(msg.data) as { type: string; data: Record<string, unknown> };
        if (json) out(msg.data);
        else if (ev.type === 'message.delta') process.stdout.write(String(ev.data.text ?? ''));
        else out(`\n[${ev.type}] ${ev.type.startsWith('tool_call') || ev.type === 'policy.decided' ? JSON.stringify(ev.data) : ''}`);
        if (ev.type === 'run.completed') return 0;
        if (ev.type === 'run.failed') return 1;
        if (ev.type === 'run.canceled') return 2;
      }
    } catch (err) {
      process.stderr.write(`stream interrupted (${(err as Error).message}); resuming after event ${last}\n`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const run = await api('GET', `/v1/runs/${runId}`);
  return EXIT_BY_STATUS[String(run.status)] ?? 1;
}

export function clientCommands(program: Command): void {
  const runs = program.command('runs').description('runs (client of the HTTP API)');
  runs
    .command('create')
    .description('start a run of an agent in a new session')
    .requiredOption('--agent <name>', 'agent name or id')
    .option('--wait', 'wait for the run to end')
    .option('--json', 'print JSON')
    .argument('<text>', 'the user message')
    .action(async (text: string, opts: { agent: string; wait?: boolean; json?: boolean }) => {
      const run = await api('POST', '/v1/runs', { agent: opts.agent, input: text, wait: Boolean(opts.wait) });
      if (opts.json) out(JSON.stringify(run, null, 2));
      else out(`${String(run.id)}\t${String(run.status)}${run.output_text ? `\n${String(run.output_text)}` : ''}`);
    });
  runs
    .command('watch')
    .description('follow a run\'s events live; exits 0 completed, 1 failed, 2 canceled')
    .argument('<run>', 'run id')
    .option('--json', 'print each event as JSON')
    .action(async (runId: string, opts: { json?: boolean }) => {
      process.exitCode = await watch(runId, Boolean(opts.json));
    });
}
