// Human-readable output of the client commands: aligned tables, abbreviated cells, times and usage.
// Scripts use --json instead, which prints the API's JSON unchanged.
import type { Usage } from '../../domain/run';

export const out = (line = ''): void => void process.stdout.write(`${line}\n`);

/** One line, at most `max` characters (an ellipsis marks a cut). */
export function abbreviate(value: string, max: number): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, Math.max(0, max - 1))}…` : line;
}

/** Compact JSON for a line of output; strings stay as they are. */
export const compact = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

/** `2025-01-31 12:00:05Z` from an RFC 3339 timestamp; empty for null. */
export function time(value: unknown): string {
  if (typeof value !== 'string') return '';
  const m = value.match(/^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/);
  return m ? `${m[1]} ${m[2]}Z` : value;
}

/** Columns separated by two spaces, each as wide as its widest cell; the last one is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const clean = rows.map((r) => r.map((c) => c.replace(/\s+/g, ' ')));
  const widths = headers.map((h, i) => Math.max(h.length, ...clean.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...clean.map(line)].join('\n');
}

/** Key/value lines with the keys aligned; empty values are left out. */
export function fields(pairs: [string, string][]): string {
  const shown = pairs.filter(([, v]) => v !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function usageLine(u: Partial<Usage> | undefined): string {
  if (!u) return '';
  const parts = [
    `${u.input_tokens ?? 0} input + ${u.output_tokens ?? 0} output tokens`,
    plural(u.model_calls ?? 0, 'model call'),
    plural(u.tool_calls ?? 0, 'tool call'),
    plural(u.steps ?? 0, 'step'),
  ];
  if (u.cost_usd) parts.push(`$${u.cost_usd.toFixed(6).replace(/0+$/, '').replace(/\.$/, '')}`);
  return parts.join(', ');
}

/** `code: message` of a run or tool error object, or '' when there is none. */
export function errorLine(e: unknown): string {
  if (!e || typeof e !== 'object') return '';
  const { code, message } = e as { code?: string; message?: string };
  return [code, message].filter(Boolean).join(': ');
}
