// `npx tsx bench/cpu-per-run.ts [one|steps] [N]`: where a run's time goes, as CPU. Starts the bench's
// stack, runs N sequential runs of agent `one` (1 step) or `steps` (5 steps, 4 read-tool calls), then N
// raw workflows with the same activities on the same (tuned) server, and prints per run: wall time and
// the CPU time (user + system, from /proc) of the API, the worker, the Temporal server, PostgreSQL and
// this process (which hosts the raw worker and client). On a 2-core box the processes of one run compete
// for the cores, so CPU per run is what bounds both latency and throughput (docs/performance.md).
import fs from 'node:fs';
import crypto from 'node:crypto';
import { benchScript } from './script';

const TICK_MS = 1000 / 100; // USER_HZ

function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** A process and its descendants (the API and worker are one process each; the server may fork). */
function tree(pid: number | undefined): number[] {
  if (!pid) return [];
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  return [pid, ...children.flatMap(tree)];
}

/** PostgreSQL's processes serving this run's data directory (embedded), or every postgres process. */
function postgresPids(runDir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes('postgres') && (process.env.DATABASE_URL ? true : cmd.includes(runDir) || isChildOfEmbedded(pid, runDir));
      } catch {
        return false;
      }
    });
}

function isChildOfEmbedded(pid: number, runDir: string): boolean {
  try {
    const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    return fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').includes(runDir);
  } catch {
    return false;
  }
}

benchScript('bench-cpu', async ({ stack, provider, tools, developer }) => {
  const agent = process.argv[2] === 'steps' ? 'steps' : 'one';
  const n = Number(process.argv[3] ?? 50);
  provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: agent === 'steps' ? 4 : 0, tool_name: 'lookup' });
  const platform = () => developer.must('POST', '/v1/runs', { agent, input: 'hi', wait: true, wait_timeout_seconds: 120 });
  const raw = () =>
    agent === 'steps'
      ? stack.raw.client.workflow.execute('steps', { taskQueue: stack.raw.taskQueue, workflowId: `raw-${crypto.randomUUID()}`, args: [provider.baseUrl, `${tools.url}/lookup`, 4] })
      : stack.raw.client.workflow.execute('oneActivity', { taskQueue: stack.raw.taskQueue, workflowId: `raw-${crypto.randomUUID()}`, args: [provider.baseUrl] });
  for (let i = 0; i < 10; i++) await platform();
  for (let i = 0; i < 10; i++) await raw();
  const groups = {
    api: tree(stack.api.child.pid),
    worker: tree(stack.worker.child.pid),
    temporal: tree(stack.temporalPid),
    postgres: postgresPids(stack.runDir),
    bench: [process.pid],
  };
  const snapshot = () => Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.reduce((a, p) => a + cpuMs(p), 0)]));
  const rows: string[] = [];
  for (const [name, fn] of [['platform', platform], ['raw', raw]] as const) {
    const before = snapshot();
    const t = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const wall = (performance.now() - t) / n;
    const after = snapshot();
    const cpu = Object.keys(groups).map((k) => `${((after[k]! - before[k]!) / n).toFixed(1)}`);
    rows.push(`| ${name} | ${wall.toFixed(1)} | ${cpu.join(' | ')} |`);
  }
  process.stdout.write(
    [`${n} sequential ${agent === 'steps' ? '5-step' : '1-step'} runs, per run (ms; CPU = user + system, ${TICK_MS} ms ticks):`, '', `| | wall | ${Object.keys(groups).map((k) => `CPU ${k}`).join(' | ')} |`, `|---|---|${Object.keys(groups).map(() => '---').join('|')}|`, ...rows, ''].join('\n'),
  );
});
