// Runs after vitest in `npm test`: fails when the global teardown's secret scan found a leak or did
// not run (vitest itself exits 0 when a global teardown throws).
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', '..', '.test-data', 'secret-scan.json');
if (!fs.existsSync(file)) {
  process.stderr.write('secret scan: no result; the integration teardown did not finish\n');
  process.exit(1);
}
const result = JSON.parse(fs.readFileSync(file, 'utf8'));
if (result.leaks.length) {
  process.stderr.write(`secret scan: FAILED, canaries found in: ${result.leaks.join('; ')}\n`);
  process.exit(1);
}
process.stdout.write(`secret scan: no secret in logs, events, transcripts or Temporal histories (${result.run_dir})\n`);
