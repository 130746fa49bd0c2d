// What the OpenAI-compatible stream sends of a step's text when attempts restart it: the client's text
// is always the start of the stored answer, or the stream says it is not.
import { describe, expect, it } from 'vitest';
import { StreamedAnswer } from '../../src/services/streamed-answer';

/** Feeds deltas (step 1 unless given) and returns what the stream sent. */
function feed(a: StreamedAnswer, deltas: [attempt: number, text: string, step?: number][]): string {
  return deltas.map(([attempt, text, step]) => a.delta({ step: step ?? 1, attempt, text })).join('');
}

describe('StreamedAnswer', () => {
  it('streams one attempt as it comes and has nothing left at message.completed', () => {
    const a = new StreamedAnswer();
    expect(feed(a, [[1, 'Hello '], [1, 'there.']])).toBe('Hello there.');
    expect(a.completed(1, 'Hello there.')).toBe('');
  });

  it('a retry that repeats what was sent continues from where the client is', () => {
    const a = new StreamedAnswer();
    expect(feed(a, [[1, 'The answer '], [1, 'is']])).toBe('The answer is');
    // Attempt 2 starts over; its first 13 characters are already on the client's screen.
    expect(feed(a, [[2, 'The '], [2, 'answer is'], [2, ' forty-two.']])).toBe(' forty-two.');
    expect(a.completed(1, 'The answer is forty-two.')).toBe('');
  });

  it('a retry that says something else is held, and message.completed sends the rest when it still starts with what was sent', () => {
    const a = new StreamedAnswer();
    expect(feed(a, [[1, 'The answer ']])).toBe('The answer ');
    expect(feed(a, [[2, 'Well, '], [2, 'it depends.']])).toBe('');
    expect(a.completed(1, 'Well, it depends.')).toBeUndefined();

    const b = new StreamedAnswer();
    expect(feed(b, [[1, 'Yes']])).toBe('Yes');
    // Attempt 2 differs ("No"), attempt 3 repeats the start: streaming resumes with attempt 3.
    expect(feed(b, [[2, 'No'], [3, 'Yes, '], [3, 'indeed.']])).toBe(', indeed.');
    expect(b.completed(1, 'Yes, indeed.')).toBe('');
  });

  it('text lost on the way (or never streamed, as on a replay) is sent whole at message.completed', () => {
    const a = new StreamedAnswer();
    expect(feed(a, [[1, 'Part one, ']])).toBe('Part one, ');
    expect(a.completed(1, 'Part one, part two.')).toBe('part two.');
    expect(new StreamedAnswer().completed(1, 'Never streamed.')).toBe('Never streamed.');
  });

  it('keeps steps apart and ignores what comes late', () => {
    const a = new StreamedAnswer();
    expect(feed(a, [[1, 'Looking it up.']])).toBe('Looking it up.');
    expect(a.completed(1, 'Looking it up.')).toBe('');
    expect(feed(a, [[1, ' late'], [1, 'Then: ', 2], [1, 'it is 20 degrees.', 2]])).toBe('Then: it is 20 degrees.');
    expect(a.completed(2, 'Then: it is 20 degrees.')).toBe('');
    // An older attempt's delta after a newer one's is not the answer.
    const b = new StreamedAnswer();
    expect(feed(b, [[2, 'New'], [1, 'Old']])).toBe('New');
  });
});
