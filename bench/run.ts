// `npm run bench` (issue 7): starts the stack, runs the scenarios against a local OpenAI-wire provider,
// prints a markdown table and writes bench/results/<date>.json. `--quick` is the 1–2 minute version;
// `--only=name,name` runs some scenarios, `--parked=N` sets the parked scenario's size. Every figure stands next to a baseline from the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './stack';
import { startProvider } from './provider';
import { Http, define, startToolTarget } from './platform';
import * as scenarios from './scenarios';

const ORDER = ['oneStep', 'slowProvider', 'streaming', 'fiveSteps', 'approveToStarted', 'sustained', 'sseFanOut', 'parkedMany'] as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const parkedArg = args.find((a) => a.startsWith('--parked='));
  const parked = parkedArg ? Number(parkedArg.slice(9)) : undefined;
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const runDir = path.resolve(__dirname, '..', '.data', 'bench', stamp);
  const stack = await startStack(runDir);
  const provider = await startProvider();
  const tools = await startToolTarget();
  const rows: scenarios.Row[] = [];
  try {
    const admin = new Http(stack.apiUrl, stack.adminKey);
    const { developer } = await define(admin, provider.baseUrl, tools.url);
    const ctx: scenarios.Ctx = { stack, provider, admin, developer, toolUrl: tools.url, quick, parked };
    for (const name of ORDER) {
      if (only && !only.includes(name)) continue;
      const t = Date.now();
      process.stderr.write(`[bench] ${name}...\n`);
      try {
        rows.push(await scenarios[name](ctx));
      } catch (err) {
        rows.push({ scenario: name, platform: `failed: ${(err as Error).message}`, baseline: '', result: '', data: {} });
      }
      process.stderr.write(`[bench] ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    await tools.close();
    await provider.close();
    await stack.stop();
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const table = [
    `Agent Platform benchmark (${quick ? 'quick' : 'full'}), ${started.toISOString()}, ${machine}`,
    '',
    '| scenario | platform | baseline (same run) | result |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.platform} | ${r.baseline} | ${r.result} |`),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const out = path.resolve(__dirname, 'results', `${stamp}${quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ started_at: started.toISOString(), quick, machine, rows }, null, 2));
  process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), out)}\n`);
  if (rows.some((r) => r.platform.startsWith('failed'))) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
