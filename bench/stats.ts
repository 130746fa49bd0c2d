// Percentiles and an open-loop load driver: requests start on a fixed schedule whatever the previous
// ones are doing, and latency counts from the scheduled start (no coordinated omission).
import fs from 'node:fs';

export function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const summary = (values: number[]) => ({ n: values.length, p50: pct(values, 50), p90: pct(values, 90), p99: pct(values, 99) });

export interface OpenLoopResult {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  /** Why requests failed: an HTTP status or an error message, with counts. */
  error_reasons: Record<string, number>;
  latencies_ms: number[];
  achieved_per_s: number;
}

/** `fire` resolves true on success, or a reason (e.g. the HTTP status) on failure. */
export async function openLoop(rate: number, seconds: number, fire: () => Promise<true | string>): Promise<OpenLoopResult> {
  const interval = 1000 / rate;
  const total = Math.max(1, Math.round(rate * seconds));
  const started = performance.now();
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const reasons: Record<string, number> = {};
  const failed = (why: string): void => {
    errors++;
    reasons[why] = (reasons[why] ?? 0) + 1;
  };
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      fire().then(
        (good) => {
          if (good === true) {
            ok++;
            latencies.push(performance.now() - due);
          } else failed(good);
        },
        (err: Error) => failed(err.message.slice(0, 120)),
      ),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  return { rate, sent: total, ok, errors, error_reasons: reasons, latencies_ms: latencies, achieved_per_s: ok / elapsed };
}

export async function sequential(n: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

export function rssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return NaN;
  }
}

/**
 * `workers` loops side by side, each running `each` calls one after another (closed loop: a loop's next
 * call starts when its last one ends); every call's latency and the calls completed per second.
 */
export async function parallelLoops(workers: number, each: number, fn: (worker: number) => Promise<number>): Promise<{ latencies_ms: number[]; per_s: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < each; i++) latencies.push(await fn(w));
    }),
  );
  return { latencies_ms: latencies, per_s: latencies.length / ((performance.now() - started) / 1000) };
}

/** Like parallelLoops, but each loop keeps calling until `seconds` have passed. */
export async function closedLoop(workers: number, seconds: number, fn: () => Promise<number>): Promise<{ latencies_ms: number[]; per_s: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) latencies.push(await fn());
    }),
  );
  return { latencies_ms: latencies, per_s: latencies.length / ((performance.now() - started) / 1000) };
}
