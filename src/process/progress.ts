// Progress of a long step (building or downloading the Temporal CLI) as a person reads it: on a terminal
// one line that is rewritten in place; otherwise (CI logs, a pipe) a line at most every 15 s, so a log
// does not fill with the same news (issue 19: a first `npm start` printed its build line 156 times).

export interface Progress {
  /** The step's state now: shown at once on a terminal, otherwise if the last line is old enough. */
  update(text: string): void;
  /** The step's outcome, always shown, on a line of its own. */
  done(text: string): void;
}

export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function createProgress(out: ProgressOutput = process.stdout, opts: { everyMs?: number; now?: () => number } = {}): Progress {
  const everyMs = opts.everyMs ?? 15_000;
  const now = opts.now ?? Date.now;
  let lastLine = Number.NEGATIVE_INFINITY;
  let open = false;
  // On a terminal: carriage return, erase the line, the text cut to the width (a wrapped line could not be rewritten).
  const fit = (text: string): string => (out.columns && text.length >= out.columns ? `${text.slice(0, out.columns - 2)}…` : text);
  return {
    update(text) {
      if (out.isTTY) {
        out.write(`\r\x1b[2K${fit(text)}`);
        open = true;
      } else if (now() - lastLine >= everyMs) {
        out.write(`${text}\n`);
        lastLine = now();
      }
    },
    done(text) {
      out.write(out.isTTY && open ? `\r\x1b[2K${text}\n` : `${text}\n`);
      open = false;
      lastLine = now();
    },
  };
}

/** "2m05s" */
export function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
