// A run's events on their way to the store: numbered here as they are emitted (so that retries of the
// storing activity cannot shift a seq), then stored in batches, by a recordEvents of their own (flush) or
// handed to the next model or tool call, which stores them first (handOff).
import { CancellationScope, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EventBatch } from '../activities/run-log';
import type { ApprovalRecord, ClientToolRecord } from '../src/domain/approval';
import type { PendingEvent } from '../src/domain/event';
import type { Message } from '../src/domain/message';
import type { RunState } from '../src/domain/run';
import type { Emit } from '../src/domain/run-event';

/**
 * Patch: the store activities (event batches, session turn, run context) run as local activities in the
 * worker that runs the workflow, instead of a round trip each through the task queue (issue 7: they were
 * most of a short run's overhead over raw Temporal).
 */
const LOCAL_STORE_PATCH = 'local-store-activities-v1';
/**
 * Patch: fewer local activities on the hot path (issue 18). The start claims the session's turn and loads
 * the run's context in one (beginRun); the events before a model call or a tool call are handed to that
 * activity, which stores them first (retrying through outages), instead of a recordEvents of their own,
 * unless they carry approval or client-tool records or are large. Decided approvals wait for the next
 * batch (defer). A batch whose activity fails is stored again with the next one (storing is idempotent).
 */
const STORE_WITH_ACTIVITY_PATCH = 'store-with-activity-v1';
/** The largest batch (as JSON) handed to a model or tool call to store; a larger one is flushed first. */
const HAND_OFF_MAX_CHARS = 64 * 1024;

// Platform data must not be lost: keep retrying through a database outage.
const STORE_RETRY = { initialInterval: '500ms', maximumInterval: '10s', backoffCoefficient: 2 } as const;
const remoteRunLog = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
// Past localRetryThreshold a failing local activity backs off on a workflow timer, so a long database
// outage does not hold the workflow task.
const localRunLog = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', localRetryThreshold: '5s', retry: STORE_RETRY });

/** Approval and client-tool records stored with a batch. */
export type Extra = { approvals?: ApprovalRecord[]; client_tool_calls?: ClientToolRecord[] };

export class RunLogBuffer {
  private seq = 0;
  private pending: PendingEvent[] = [];
  // Records to store with the next batch (STORE_WITH_ACTIVITY_PATCH only; else always empty).
  private pendingExtra: Extra = {};

  constructor(
    private readonly runId: string,
    private readonly state: RunState,
    /** The store activities: local ones under LOCAL_STORE_PATCH. */
    readonly store: typeof remoteRunLog,
    readonly fastStore: boolean,
    readonly storeWithActivity: boolean,
  ) {}

  /** Numbers the event and keeps it for the next batch. */
  readonly emit: Emit = (type, data) => {
    this.pending.push({ seq: ++this.seq, type, data });
  };

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** The seq the next event will have. */
  get nextSeq(): number {
    return this.seq + 1;
  }

  /** Stores the events so far (with the run's state, messages and records). A flush is never canceled: a batch that was numbered must be stored, or the log would have a gap. */
  async flush(messages?: Message[], more?: Extra): Promise<void> {
    const batch = this.pending;
    const extra = mergeExtra(this.pendingExtra, more);
    this.pending = [];
    this.pendingExtra = {};
    await CancellationScope.nonCancellable(() =>
      extra
        ? this.store.recordEvents(this.runId, batch, { ...this.state }, messages, extra)
        : this.store.recordEvents(this.runId, batch, { ...this.state }, messages),
    );
  }

  /**
   * flush for the batch that ends the run (patch 'answer-stored-with-model-v1'): returns the run's stored
   * end when it had already ended otherwise (its answer stored by the model activity), and then nothing of
   * this batch was stored.
   */
  async flushEnd(messages: Message[], more?: Extra): Promise<RunState | undefined> {
    const batch = this.pending;
    const extra = mergeExtra(this.pendingExtra, more);
    this.pending = [];
    this.pendingExtra = {};
    const { ended } = await CancellationScope.nonCancellable(() =>
      extra ? this.store.recordRunEnd(this.runId, batch, { ...this.state }, messages, extra) : this.store.recordRunEnd(this.runId, batch, { ...this.state }, messages),
    );
    return ended;
  }

  /** The events so far, for the next activity to store first; without the patch, flushed now. */
  async handOff(): Promise<EventBatch | undefined> {
    if (!this.storeWithActivity) {
      await this.flush();
      return undefined;
    }
    // Stored here instead: approval and client-tool records (an approvals list must not show a decided or
    // expired approval as pending while the next activity waits for a slot), and large batches (a tool's
    // output, already in the model call's messages, would count twice against the payload limit).
    if (mergeExtra(this.pendingExtra) || JSON.stringify(this.pending).length > HAND_OFF_MAX_CHARS) {
      await this.flush();
      return undefined;
    }
    if (!this.pending.length) return undefined;
    const batch: EventBatch = { events: this.pending, state: { ...this.state } };
    this.pending = [];
    return batch;
  }

  /** A batch whose activity failed goes back in front of the pending events (storing is idempotent). */
  requeue(batch: EventBatch | undefined): void {
    if (!batch) return;
    this.pending = [...batch.events, ...this.pending];
  }

  /** Records stored with the next batch; without the patch, flushed now. */
  async defer(more: Extra): Promise<void> {
    if (!this.storeWithActivity) return this.flush(undefined, more);
    this.pendingExtra = mergeExtra(this.pendingExtra, more) ?? {};
  }
}

/** The run's event log, its store chosen by the patches (asked in this order: local store, then store with activity). */
export function openRunLog(runId: string, state: RunState, has: (patch: string) => boolean): RunLogBuffer {
  const fastStore = has(LOCAL_STORE_PATCH);
  const store = fastStore ? localRunLog : remoteRunLog;
  return new RunLogBuffer(runId, state, store, fastStore, has(STORE_WITH_ACTIVITY_PATCH));
}

/** Records of both in order (a later record of the same id is upserted after the earlier); undefined when none. */
function mergeExtra(a: Extra | undefined, b?: Extra): Extra | undefined {
  const approvals = [...(a?.approvals ?? []), ...(b?.approvals ?? [])];
  const clientToolCalls = [...(a?.client_tool_calls ?? []), ...(b?.client_tool_calls ?? [])];
  if (!approvals.length && !clientToolCalls.length) return undefined;
  return { ...(approvals.length ? { approvals } : {}), ...(clientToolCalls.length ? { client_tool_calls: clientToolCalls } : {}) };
}
