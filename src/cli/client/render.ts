// How a run's live events read in a terminal: token deltas as running text, every other event as one
// `[type] ...` line, and the progress line `ap runs create --wait` keeps on stderr.
import type { RunEvent } from '../../domain/run-event';
import { textOf } from '../../domain/message';
import { isStored, type StreamItem } from './events';
import { abbreviate, compact, errorLine, time, usageLine } from './format';

const ARGS_MAX = 200;
const OUTPUT_MAX = 300;

/** One line per stored event (without its `[type] ` prefix), or undefined for events shown otherwise. */
export function describe(ev: RunEvent): string | undefined {
  const call = (name: unknown, args: unknown) => `${String(name)} ${abbreviate(compact(args ?? {}), ARGS_MAX)}`;
  const rule = (id: unknown, reason: unknown) => `rule ${String(id)}${reason ? `: ${String(reason)}` : ''}`;
  switch (ev.type) {
    case 'run.queued':
      return ev.run_id;
    case 'run.started':
      return '';
    case 'step.completed':
    case 'step.started':
      return `step ${ev.data.step}`;
    case 'tool_call.requested': {
      const tc = ev.data.tool_call as typeof ev.data.tool_call & { arguments_error?: string };
      return `${call(tc.name, tc.arguments)} (${tc.id})${tc.arguments_error ? ` invalid arguments: ${tc.arguments_error}` : ''}`;
    }
    case 'policy.decided': {
      const d = ev.data;
      return `${d.name}: ${d.action} (${rule(d.rule_id, d.reason)})${d.edited_arguments ? ' after edited arguments' : ''}`;
    }
    case 'approval.requested': {
      const a = ev.data.approval;
      return `${a.id}: ${call(a.tool_call.name, a.tool_call.arguments)} needs approval (${rule(a.policy_rule_id, a.reason)}), expires ${time(a.expires_at)}; decide with \`ap approvals approve ${a.id}\` or \`ap approvals deny ${a.id} --reason ...\``;
    }
    case 'approval.decided': {
      const d = ev.data;
      const by = d.decided_by?.name ? ` by ${d.decided_by.name}` : '';
      const extra = [d.reason && `reason: ${d.reason}`, d.comment && `comment: ${d.comment}`, d.arguments && `edited arguments ${abbreviate(compact(d.arguments), ARGS_MAX)}`].filter(Boolean);
      return `${d.approval_id}: ${d.status}${by}${extra.length ? ` (${extra.join('; ')})` : ''}`;
    }
    case 'tool_call.required':
      return `${call(ev.data.name, ev.data.arguments)} (${ev.data.tool_call_id}) must be executed by the caller (POST /v1/runs/${ev.run_id}/tools/resolve)`;
    case 'auth.required':
      return `${ev.data.name} needs the user's authorization of ${ev.data.connection}: ${ev.data.authorization_url} (until ${time(ev.data.expires_at)})`;
    case 'tool_call.started':
      return ev.data.arguments ? `${call(ev.data.name, ev.data.arguments)} (edited arguments)` : ev.data.name;
    case 'tool_call.completed':
      return `${ev.data.name} → ${abbreviate(compact(ev.data.output), OUTPUT_MAX)}${ev.data.cached ? ' (cached)' : ''}`;
    case 'skill.loaded':
      return `${ev.data.skill_id} (${ev.data.files.join(', ')})`;
    case 'tool_call.failed':
      return `${ev.data.name}: ${errorLine(ev.data.error)}`;
    case 'run.status_changed':
      return `${ev.data.from} → ${ev.data.to}`;
    case 'run.completed':
    case 'run.canceled':
      return `usage: ${usageLine(ev.data.usage)}`;
    case 'run.failed':
      return `${errorLine(ev.data.error)}; usage: ${usageLine(ev.data.usage)}`;
    case 'message.completed':
      return undefined;
    default:
      return abbreviate(compact((ev as { data: unknown }).data), OUTPUT_MAX);
  }
}

/**
 * Prints a run's stream for people. Deltas are written as they come; when a model call is retried its
 * earlier text is marked as discarded (API.md 3.2), and `message.completed` — the authoritative text —
 * is printed whenever what was shown differs from it (a retry, a reconnect, or a run watched afterwards).
 */
export class EventPrinter {
  private step = -1;
  private attempt = -1;
  private shown = '';
  private midLine = false;

  constructor(private readonly write: (s: string) => void = (s) => void process.stdout.write(s)) {}

  print(item: StreamItem): void {
    if (!isStored(item)) return this.delta(item.data);
    if (item.type === 'message.completed') return this.completed(item.data);
    const line = describe(item);
    if (line !== undefined) this.line(`[${item.type}]${line ? ` ${line}` : ''}`);
  }

  /** A line of its own, after any running text. */
  line(text: string): void {
    if (this.midLine) this.write('\n');
    this.midLine = false;
    this.write(`${text}\n`);
  }

  private delta(d: { step: number; attempt: number; text: string }): void {
    if (d.step !== this.step) {
      this.step = d.step;
      this.shown = '';
    } else if (d.attempt !== this.attempt && this.shown) {
      this.line(`[message.retried] the model call was retried (attempt ${d.attempt}): discard the text above`);
      this.shown = '';
    }
    this.attempt = d.attempt;
    if (!d.text) return;
    this.write(d.text);
    this.shown += d.text;
    this.midLine = !d.text.endsWith('\n');
  }

  private completed(d: Extract<RunEvent, { type: 'message.completed' }>['data']): void {
    const text = textOf({ content: d.message.content });
    const sameStep = d.step === this.step;
    const shown = sameStep ? this.shown : '';
    this.step = -1;
    this.shown = '';
    if (text === shown) {
      if (this.midLine) this.write('\n');
      this.midLine = false;
      return;
    }
    if (shown) this.line('[message.completed] the final text of this step:');
    if (text) this.line(text);
  }
}

const PAUSED_ACTIVITY: Record<string, string> = { waiting_approval: 'waiting for approval', tool_required: 'waiting for a client tool result', waiting_auth: 'waiting for the user to authorize a connection' };

/**
 * A progress line on stderr: rewritten in place on a terminal (with the elapsed time), one line per
 * change otherwise, so that logs stay readable. stdout is left alone for --json.
 */
export class StatusLine {
  private status = 'queued';
  private step = 0;
  private activity = '';
  private lastText = '';
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runId: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    if (stream.isTTY) {
      this.timer = setInterval(() => this.render(), 1000);
      this.timer.unref();
    }
    this.render();
  }

  update(ev: RunEvent): void {
    if (ev.type === 'run.status_changed') {
      this.status = ev.data.to;
      const paused = PAUSED_ACTIVITY[this.status];
      // A pause keeps "waiting for approval apr_..." of the approval.requested just before it.
      if (!paused) this.activity = '';
      else if (!this.activity.startsWith(paused)) this.activity = paused;
    } else if (ev.type === 'run.started') this.status = 'running';
    else if (ev.type === 'step.started') [this.step, this.activity] = [ev.data.step, 'calling the model'];
    else if (ev.type === 'tool_call.started') this.activity = `running tool ${ev.data.name}`;
    else if (ev.type === 'approval.requested') this.activity = `waiting for approval ${ev.data.approval.id}`;
    else if (ev.type.startsWith('run.')) [this.status, this.activity] = [ev.type.slice(4), ''];
    this.render();
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private render(): void {
    const text = [`${this.runId}: ${this.status}`, this.step ? `step ${this.step}` : '', this.activity].filter(Boolean).join(', ');
    if (this.stream.isTTY) this.stream.write(`\r\x1b[2K${text} (${Math.round((Date.now() - this.started) / 1000)}s)`);
    else if (text !== this.lastText) this.stream.write(`${text}\n`);
    this.lastText = text;
  }
}
