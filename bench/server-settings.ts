// Issue 18 point 1: what each dev-server setting does on its own. Every setting gets a fresh dev server
// (file SQLite) and a raw worker, and the same one-activity workflows: one after another, with eager
// start, and closed-loop throughput. The platform is not involved.
import path from 'node:path';
import { DEV_SERVER_SQLITE_PRAGMAS, DEV_SERVER_TUNING, type DevServerOptions } from '../src/temporal/dev-server';
import { startRawServer } from './raw-target';
import { closedLoop, sequential, summary } from './stats';
import { NA, ms, pair, rawWait, sequentialEager, times, type Ctx, type Row } from './common';

const only = (match: (key: string) => boolean) => Object.fromEntries(Object.entries(DEV_SERVER_TUNING).filter(([k]) => match(k)));

/** The settings measured, each alone; the names are what the report shows. */
const SETTINGS: { name: string; tuning: NonNullable<DevServerOptions['tuning']> }[] = [
  { name: 'defaults', tuning: 'defaults' },
  { name: 'transfer-queue poll RPS only', tuning: { dynamicConfig: only((k) => k.startsWith('history.transferProcessor')), sqlitePragmas: {} } },
  { name: 'eager activities only', tuning: { dynamicConfig: only((k) => k === 'system.enableActivityEagerExecution'), sqlitePragmas: {} } },
  { name: 'WAL + synchronous=full only', tuning: { dynamicConfig: {}, sqlitePragmas: DEV_SERVER_SQLITE_PRAGMAS } },
  { name: 'all (tuned)', tuning: 'tuned' },
];

interface Measured {
  setting: string;
  sequential: ReturnType<typeof summary>;
  eager_start: ReturnType<typeof summary> & { eager: number };
  concurrent: ReturnType<typeof summary> & { workers: number; seconds: number; per_s: number };
}

async function measure(c: Ctx, index: number): Promise<Measured> {
  const { name, tuning } = SETTINGS[index]!;
  const n = c.quick ? 15 : 50;
  const workers = 8;
  const seconds = c.quick ? 2 : 5;
  const args = [c.provider.baseUrl];
  const started = await startRawServer(path.join(c.stack.runDir, 'server-settings'), `setting-${index}`, tuning);
  try {
    const { raw } = started;
    await sequential(3, () => rawWait(raw, 'oneActivity', args)); // warm-up: connections, the worker's caches
    await sequentialEager(3, raw, 'oneActivity', args);
    const seq = summary(await sequential(n, () => rawWait(raw, 'oneActivity', args)));
    const eager = await sequentialEager(n, raw, 'oneActivity', args);
    const loop = await closedLoop(workers, seconds, () => rawWait(raw, 'oneActivity', args));
    return { setting: name, sequential: seq, eager_start: eager, concurrent: { ...summary(loop.latencies_ms), workers, seconds, per_s: loop.per_s } };
  } finally {
    await started.stop();
  }
}

export async function serverSettings(c: Ctx): Promise<Row> {
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 0 });
  const results: Measured[] = [];
  for (let i = 0; i < SETTINGS.length; i++) {
    process.stderr.write(`[bench]   ${SETTINGS[i]!.name}\n`);
    results.push(await measure(c, i));
  }
  const base = results[0]!;
  const all = results.at(-1)!;
  const perS = (m: Measured) => `${m.concurrent.per_s.toFixed(1)} wf/s`;
  const { workers, seconds } = base.concurrent;
  return {
    scenario: `dev-server settings, each alone on a fresh server (raw one-activity workflows; table below)`,
    platform: NA,
    tuned_raw: `all: ${pair(all.sequential)}; ${perS(all)}`,
    default_raw: `defaults: ${pair(base.sequential)}; ${perS(base)}`,
    direct: NA,
    ratio: `tuned ÷ defaults: p50 ${times(all.sequential.p50, base.sequential.p50)}, throughput ${times(all.concurrent.per_s, base.concurrent.per_s)}`,
    data: { settings: results },
    detail: [
      `Dev-server settings, each alone (${base.sequential.n} sequential one-activity workflows; ${workers} concurrent starters for ${seconds} s):`,
      '',
      '| setting | sequential | sequential, eager start (eager/n) | concurrent: workflows/s · p50 | p50 ÷ defaults | throughput ÷ defaults |',
      '|---|---|---|---|---|---|',
      ...results.map(
        (m) =>
          `| ${m.setting} | ${pair(m.sequential)} | ${pair(m.eager_start)} (${m.eager_start.eager}/${m.eager_start.n}) | ${perS(m)} · ${ms(m.concurrent.p50)} | ${times(m.sequential.p50, base.sequential.p50)} | ${times(m.concurrent.per_s, base.concurrent.per_s)} |`,
      ),
    ],
  };
}
