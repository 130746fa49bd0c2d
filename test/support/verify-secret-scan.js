// Runs after vitest in `npm test`: fails when the global teardown found a secret leak or a stored run
// event off the catalogue, or did not run (vitest itself exits 0 when a global teardown throws).
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
// The run-event catalogue check of the same teardown (test/support/event-catalogue.ts).
if (!result.events) {
  process.stderr.write('event catalogue: no result; the integration teardown did not check the stored events\n');
  process.exit(1);
}
if (result.events.issues.length) {
  process.stderr.write(`event catalogue: FAILED, stored events that do not match src/domain/run-event.ts:\n  ${result.events.issues.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`event catalogue: all ${result.events.checked} stored events match their type's schema\n`);
process.stdout.write(`secret scan: no secret in logs, events, transcripts or Temporal histories (${result.run_dir})\n`);
