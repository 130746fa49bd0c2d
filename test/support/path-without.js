// `node test/support/path-without.js NAME...` prints a PATH in which no NAME can be found: each directory
// of PATH that holds one is replaced by a directory of links to everything else in it (so node, npm and
// the rest stay reachable from /usr/bin). .ci/run uses it to prove that the browser and Compose tests
// need no system Chromium or docker-compose (issue 19).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const names = new Set(process.argv.slice(2));
const shadowRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ap-path-without-'));
const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
const out = dirs.map((dir, i) => {
  let entries;
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return dir;
  }
  if (!entries.some((e) => names.has(e))) return dir;
  const shadow = path.join(shadowRoot, String(i));
  fs.mkdirSync(shadow);
  for (const e of entries) if (!names.has(e)) fs.symlinkSync(path.join(dir, e), path.join(shadow, e));
  return shadow;
});
process.stdout.write(out.join(path.delimiter));
