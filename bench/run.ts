// `npm run bench` (issues 7 and 18): starts the stack, runs the scenarios against a local OpenAI-wire
// provider, prints a markdown table and writes bench/results/<date>.json. `--quick` is the few-minute
// version; `--only=name,name` runs some scenarios, `--parked=N` sets the parked scenario's size. Every
// figure stands next to baselines from the same run (docs/performance.md says what each column is).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './stack';
import { startProvider } from './provider';
import { Http, define, startToolTarget } from './platform';
import * as scenarios from './scenarios';
import { NA, rawWait, runWait, type Ctx, type Row } from './common';
import { sequential } from './stats';
import type { Stack } from './stack';

const ORDER = ['serverSettings', 'oneStep', 'slowProvider', 'streaming', 'fiveSteps', 'sessions5Steps', 'approveToStarted', 'sustained', 'sseFanOut', 'parkedMany'] as const;

/** A few runs through everything, so that RSS "at rest" is that of a warmed stack, not of a cold start. */
async function warmUp(c: Ctx): Promise<void> {
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 0 });
  await sequential(5, () => runWait(c, 'one'));
  for (const t of [c.stack.raw, c.stack.rawDefaults]) await sequential(5, () => rawWait(t, 'oneActivity', [c.provider.baseUrl]));
  await new Promise((r) => setTimeout(r, 2000));
}

const rssLine = (r: ReturnType<Stack['rss']>) => `worker ${r.worker} · API ${r.api} · Temporal (tuned) ${r.temporal_tuned} · Temporal (defaults) ${r.temporal_defaults} · bench process with both raw workers ${r.bench}`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const parkedArg = args.find((a) => a.startsWith('--parked='));
  const parked = parkedArg ? Number(parkedArg.slice(9)) : undefined;
  const started = new Date();
  const loadAtStart = os.loadavg();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const runDir = path.resolve(__dirname, '..', '.data', 'bench', stamp);
  const stack = await startStack(runDir);
  const provider = await startProvider();
  const tools = await startToolTarget();
  const rows: Row[] = [];
  let rssAtRest: ReturnType<Stack['rss']> | undefined;
  let rssAfter: ReturnType<Stack['rss']> | undefined;
  try {
    const admin = new Http(stack.apiUrl, stack.adminKey);
    const { developer } = await define(admin, provider.baseUrl, tools.url);
    const ctx: Ctx = { stack, provider, admin, developer, toolUrl: tools.url, quick, parked };
    await warmUp(ctx);
    rssAtRest = stack.rss();
    for (const name of ORDER) {
      if (only && !only.includes(name)) continue;
      const t = Date.now();
      process.stderr.write(`[bench] ${name}...\n`);
      try {
        rows.push(await scenarios[name](ctx));
      } catch (err) {
        rows.push({ scenario: name, platform: `failed: ${(err as Error).message}`, tuned_raw: NA, default_raw: NA, direct: NA, ratio: NA, data: {} });
      }
      process.stderr.write(`[bench] ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
    rssAfter = stack.rss();
  } finally {
    await tools.close();
    await provider.close();
    await stack.stop();
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  // Other jobs on the machine move every figure: say how busy it was.
  const load = `load average ${loadAtStart.map((l) => l.toFixed(1)).join(' / ')} at start, ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end (1/5/15 min)`;
  const table = [
    `Agent Platform benchmark (${quick ? 'quick' : 'full'}), ${started.toISOString()}, ${machine}; ${load}`,
    '',
    `RSS at rest, MiB (warmed, before load): ${rssAtRest ? rssLine(rssAtRest) : NA}`,
    `RSS after the run, MiB: ${rssAfter ? rssLine(rssAfter) : NA}`,
    '',
    '| scenario | platform | tuned raw | default-config raw | direct provider | platform ÷ tuned raw |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.platform} | ${r.tuned_raw} | ${r.default_raw} | ${r.direct} | ${r.ratio} |`),
    ...rows.flatMap((r) => (r.detail ? ['', ...r.detail] : [])),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const out = path.resolve(__dirname, 'results', `${stamp}${quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ started_at: started.toISOString(), quick, machine, load, rss_at_rest_mib: rssAtRest, rss_after_mib: rssAfter, rows }, null, 2));
  process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), out)}\n`);
  if (rows.some((r) => r.platform.startsWith('failed'))) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
