// What the OpenAI-compatible stream has sent of each step's text. Run streams carry each delta's
// `{step, attempt}` and leave it to the client to discard an earlier attempt's text (API.md 3.2); a Chat
// Completions client cannot discard anything, so this stream keeps one rule instead: what it has sent of
// a step is always the start of that step's stored answer (`message.completed`).
//
// - A retried attempt (or a fallback card) that repeats what was sent is streamed from where the client
//   is: its repeated start is dropped.
// - An attempt that says something else is held; at `message.completed` the rest of the stored text is
//   sent when what was sent is its start (deltas lost on the way are made good the same way).
// - Otherwise the client has read text that is not the answer and cannot be told to drop it: the stream
//   ends with `stream_interrupted` (docs/api-notes.md), as other gateways end a stream that broke after
//   its first token.

interface StepText {
  /** What the client has been sent of this step. */
  shown: string;
  attempt: number;
  /** The text of `attempt` so far. */
  text: string;
  /** `attempt` left what was sent: nothing more of it goes out until `message.completed`. */
  held: boolean;
  done: boolean;
}

export class StreamedAnswer {
  private readonly steps = new Map<number, StepText>();

  private stepOf(step: number): StepText {
    let s = this.steps.get(step);
    if (!s) this.steps.set(step, (s = { shown: '', attempt: 0, text: '', held: false, done: false }));
    return s;
  }

  /** A token delta: the text to send for it now, '' when none. */
  delta(d: { step: number; attempt: number; text: string }): string {
    const s = this.stepOf(d.step);
    if (s.done || d.attempt < s.attempt) return '';
    if (d.attempt > s.attempt) Object.assign(s, { attempt: d.attempt, text: '', held: false });
    s.text += d.text;
    if (s.held) return '';
    // This attempt agrees with what was sent so far when one of the two texts starts the other.
    const behind = s.text.length <= s.shown.length;
    s.held = behind ? !s.shown.startsWith(s.text) : !s.text.startsWith(s.shown);
    if (s.held || behind) return '';
    const rest = s.text.slice(s.shown.length);
    s.shown = s.text;
    return rest;
  }

  /**
   * The step's stored text (`message.completed`): what is left to send of it, or undefined when what was
   * sent is not its start.
   */
  completed(step: number, text: string): string | undefined {
    const s = this.stepOf(step);
    if (s.done) return '';
    s.done = true;
    if (!text.startsWith(s.shown)) return undefined;
    const rest = text.slice(s.shown.length);
    s.shown = text;
    return rest;
  }
}
