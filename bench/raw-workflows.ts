// Baseline workflows for the benchmarks: the same Temporal work a run does, without the platform.
import { defineUpdate, proxyActivities, setHandler, condition } from '@temporalio/workflow';
import type { RawActivities } from './raw-activities';

const { callProvider, callTool } = proxyActivities<RawActivities>({ startToCloseTimeout: '1 minute' });

/** One activity: the model call of a 1-step run. */
export async function oneActivity(baseUrl: string): Promise<number> {
  return callProvider(baseUrl);
}

/** A multi-step agent loop: a model call per step and a tool call between steps. */
export async function steps(baseUrl: string, toolUrl: string, toolCalls: number): Promise<void> {
  for (let i = 0; i < toolCalls; i++) {
    await callProvider(baseUrl);
    await callTool(toolUrl);
  }
  await callProvider(baseUrl);
}

export const pingUpdate = defineUpdate<number, [number]>('ping');

/** A bare workflow that answers updates: the floor of any approval round trip. */
export async function bare(): Promise<void> {
  let done = false;
  setHandler(pingUpdate, (n) => {
    if (n < 0) done = true;
    return n;
  });
  await condition(() => done);
}
