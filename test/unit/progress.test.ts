// The progress of a long step (issue 19): one line rewritten in place on a terminal, a line at most every
// 15 s elsewhere, and the outcome always on a line of its own.
import { describe, expect, it } from 'vitest';
import { createProgress, elapsed } from '../../src/process/progress';

function output(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns, write: (s: string) => writes.push(s) } };
}

describe('progress', () => {
  it('on a terminal rewrites one line in place, cut to the width, and ends it with the outcome', () => {
    const { writes, out } = output(true, 20);
    const p = createProgress(out);
    p.update('building: 1 module');
    p.update('building: 2 modules, 1s so far');
    p.done('built in 2m05s');
    expect(writes).toEqual(['\r\x1b[2Kbuilding: 1 module', '\r\x1b[2Kbuilding: 2 module…', '\r\x1b[2Kbuilt in 2m05s\n']);
  });

  it('elsewhere prints a line at most every 15 s, and always the outcome', () => {
    const { writes, out } = output(false);
    let t = 1_000_000;
    const p = createProgress(out, { now: () => t });
    for (let i = 1; i <= 156; i++) {
      p.update(`building: ${i} modules`);
      t += 200;
    }
    t += 15_000;
    p.update('building: compiling');
    p.done('built');
    // 156 updates within 31 s: the first, one 15 s later, one at the end; not 156 lines.
    expect(writes).toEqual(['building: 1 modules\n', 'building: 76 modules\n', 'building: 151 modules\n', 'building: compiling\n', 'built\n']);
  });

  it('formats elapsed time', () => {
    expect([elapsed(400), elapsed(59_400), elapsed(125_000)]).toEqual(['0s', '59s', '2m05s']);
  });
});
